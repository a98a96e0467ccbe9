"""The lifecycle service restricts the backend itself, after its commit, whoever changed the state."""

from __future__ import annotations

import pytest
from django.db import transaction

from audit.models import AuditEvent
from keyvault.backends.base import BackendError
from keyvault.backends.local import LocalBackend
from keyvault.errors import KeyNotUsableForEncryption
from keyvault.models import ManagedKey
from keyvault.services import gate, lifecycle, restriction
from keyvault.services.versions import key_backend, version_ref
from keyvault.states import KeyState
from keyvault.tasks import restrict_keys
from tests.keyvault.conftest import PLAINTEXT, SYSTEM

pytestmark = pytest.mark.django_db
S = KeyState


def _decrypt_only(key: ManagedKey) -> bool:
    return all(key_backend(key).verify_restriction(version_ref(v)).decrypt_only for v in key.versions.all())


def _restricted(key: ManagedKey) -> bool:
    """Recorded as restricted, and decrypt-only on the backend indeed."""
    key.refresh_from_db()
    return key.restricted_at is not None and _decrypt_only(key)


@pytest.fixture
def queued(monkeypatch):
    """What the lifecycle queues for the retrying task (instead of a broker)."""
    calls: list[dict[str, object]] = []
    monkeypatch.setattr(restrict_keys, "apply_async", lambda **kwargs: calls.append(kwargs))
    return calls


@pytest.mark.parametrize(
    "change",
    [
        lambda key: lifecycle.key_suspend(key_ids=[key.id], actor=SYSTEM, reason="signal"),
        lambda key: lifecycle.key_compromise(key_id=key.id, actor=SYSTEM, reason="confirmed"),
        lambda key: lifecycle.key_deactivate(key_id=key.id, actor=SYSTEM, reason="retired"),
    ],
    ids=["suspend", "compromise", "deactivate"],
)
def test_the_state_change_restricts_the_backend_once_committed(change, django_capture_on_commit_callbacks, queued):
    key = lifecycle.key_create(actor=SYSTEM, alias="k", purpose="tests")
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():  # e.g. a signal's transaction
        change(key)
        key.refresh_from_db()
        assert key.restricted_at is None
        assert not _decrypt_only(key)
    for callback in callbacks:
        callback()
    assert _restricted(key)
    assert AuditEvent.objects.filter(action="key.restricted", subject_id=str(key.id)).count() == 1
    assert queued == []


def test_a_signal_and_an_api_call_restrict_alike(django_capture_on_commit_callbacks, api_client, make_user):
    """The signal path (incidents) calls the same service as the API: both end restricted."""
    from incidents.services.incidents import incident_open_or_attach
    from webapp import roles

    by_signal = lifecycle.key_create(actor=SYSTEM, alias="by-signal", purpose="tests")
    by_api = lifecycle.key_create(actor=SYSTEM, alias="by-api", purpose="tests")
    with django_capture_on_commit_callbacks(execute=True):
        incident_open_or_attach(keys=[by_signal], title="leak", severity="high", actor=SYSTEM, reason="scanner")
    api_client.force_authenticate(make_user("cmdr", roles.COMMANDER))
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(f"/api/v1/keys/{by_api.id}/suspend", {"reason": "scanner"}, format="json")
    assert response.status_code == 200
    for key in (by_signal, by_api):
        assert _restricted(key)
        assert key.key_state is S.SUSPENDED


def test_containment_holds_while_the_backend_is_down_and_the_retry_applies_it(
    django_capture_on_commit_callbacks, queued, monkeypatch
):
    key = lifecycle.key_create(actor=SYSTEM, alias="k", purpose="tests")
    real = LocalBackend.restrict_to_decrypt

    def down(self, ref):
        raise BackendError("connection refused", permanent=False)

    monkeypatch.setattr(LocalBackend, "restrict_to_decrypt", down)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.key_suspend(key_ids=[key.id], actor=SYSTEM, reason="signal")  # does not raise
    assert not _restricted(key)
    assert key.key_state is S.SUSPENDED
    with pytest.raises(KeyNotUsableForEncryption):  # Sequester's own gate refuses at once
        gate.gate_encrypt(key_id=key.id, items=[gate.EncryptItem(PLAINTEXT)], principal=_job())
    pending = AuditEvent.objects.get(action="key.restriction_pending")
    assert pending.data["failures"][0]["code"] == "backend_unavailable"
    assert [call["args"][0] for call in queued] == [[str(key.id)]]

    # The task retries while the backend is down (requeued with a longer countdown) ...
    args = queued[0]["args"]
    assert restrict_keys(*args) == 0
    assert queued[-1]["args"][4] == 1
    assert queued[-1]["countdown"] > 0
    # ... and applies the restriction once it answers.
    monkeypatch.setattr(LocalBackend, "restrict_to_decrypt", real)
    assert restrict_keys(*queued[-1]["args"]) == 1
    assert _restricted(key)


def test_the_periodic_check_applies_a_restriction_lost_in_a_crash(queued):
    """A crash between the commit and the backend call leaves ``restricted_at`` empty: still owed."""
    key = lifecycle.key_create(actor=SYSTEM, alias="k", purpose="tests")
    lifecycle.key_suspend(key_ids=[key.id], actor=SYSTEM, reason="signal")  # on_commit never ran (the crash)
    assert restriction.restrictions_verify_all(actor=SYSTEM) == []
    assert _restricted(key)


def test_a_large_cascade_restricts_the_named_key_now_and_queues_the_rest(
    django_capture_on_commit_callbacks, queued, settings
):
    settings.SEQUESTER_RESTRICT_INLINE_KEYS = 1
    kek = lifecycle.key_create(actor=SYSTEM, alias="kek", purpose="tests")
    deks = [lifecycle.key_create(actor=SYSTEM, alias=f"dek-{i}", purpose="tests", parent_id=kek.id) for i in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.key_suspend(key_ids=[kek.id], actor=SYSTEM, reason="signal")
    assert _restricted(kek)
    assert sorted(queued[0]["args"][0]) == sorted(str(d.id) for d in deks)
    assert restrict_keys(*queued[0]["args"]) == 3
    assert all(ManagedKey.objects.get(id=d.id).restricted_at for d in deks)


def test_playbook_step_confirms_without_rewriting(django_capture_on_commit_callbacks, queued):
    key = lifecycle.key_create(actor=SYSTEM, alias="k", purpose="tests")
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.key_compromise(key_id=key.id, actor=SYSTEM, reason="confirmed")
    before = AuditEvent.objects.filter(action="key.restricted").count()
    report = restriction.key_restriction_confirm(key_id=key.id, actor=SYSTEM)
    assert report.verified
    assert AuditEvent.objects.filter(action="key.restricted").count() == before  # read back, not re-applied


def _job():
    from keyvault.types import Principal

    return Principal.for_rewrap_job("tests")


def test_a_restore_landing_while_the_backend_is_called_wins(monkeypatch, app):
    """The backend is called without the key's row lock; a key restored meanwhile stays encryptable."""
    from keyvault.errors import IllegalTransition

    key = lifecycle.key_create(actor=SYSTEM, alias="k", purpose="tests")
    lifecycle.key_suspend(key_ids=[key.id], actor=SYSTEM, reason="signal")
    real = LocalBackend.restrict_to_decrypt

    def restore_meanwhile(self, ref):
        ManagedKey.objects.filter(id=key.id).update(state=S.ACTIVE.value)  # a quorum's restore commits
        return real(self, ref)

    monkeypatch.setattr(LocalBackend, "restrict_to_decrypt", restore_meanwhile)
    with pytest.raises(IllegalTransition, match="before its restriction landed"):
        restriction.key_restrict(key_id=key.id, actor=SYSTEM)
    assert not _restricted(key)
    assert not _decrypt_only(key)
    gate.gate_encrypt(key_id=key.id, items=[gate.EncryptItem(PLAINTEXT)], principal=app)


def test_the_first_restriction_of_a_fresh_suspension_is_not_a_drift_repair(queued):
    """Bug 8: the periodic check applying a restriction still owed (never applied) is a first restriction:
    no drift event, no drift incident, and the audit says it was owed, not re-applied after drift."""
    key = lifecycle.key_create(actor=SYSTEM, alias="fresh", purpose="tests")
    lifecycle.key_suspend(key_ids=[key.id], actor=SYSTEM, reason="signal")  # the restriction is owed
    assert restriction.restrictions_verify_all(actor=SYSTEM) == []
    event = AuditEvent.objects.get(action="key.restricted", subject_id=str(key.id))
    assert event.data["cause"] == restriction.CAUSE_OWED
    assert "drift" not in event.reason
    assert "re-applied" not in event.reason
    assert "owed since the key became" in event.reason
    assert not AuditEvent.objects.filter(action__in=["key.restriction_drift", "incident.restriction_drift"]).exists()
