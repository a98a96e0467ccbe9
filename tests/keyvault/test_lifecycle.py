"""The state machine: legal and illegal transitions, dates, cascade through the hierarchy, blast radius."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from keyvault.errors import IllegalTransition, InvalidKeyRequest, LegalHoldActive
from keyvault.models import DataAsset, ManagedKey, System
from keyvault.services import lifecycle
from keyvault.services.lifecycle import AliasInUse
from keyvault.states import TRANSITIONS, KeyState, transition_allowed
from tests.keyvault.conftest import SYSTEM, approved_restore, make_key

pytestmark = pytest.mark.django_db
S = KeyState


def test_transition_table_is_closed_over_the_states():
    assert all(source in S and target in S for source, target in TRANSITIONS)
    assert not transition_allowed(S.COMPROMISED, S.ACTIVE)  # never back from compromised
    assert not transition_allowed(S.DESTROYED_COMPROMISED, S.ACTIVE)
    assert not any(source is S.DESTROYED_COMPROMISED for source, _ in TRANSITIONS)


@pytest.mark.parametrize(
    ("state", "move"),
    [
        (S.COMPROMISED, lambda key: lifecycle.key_activate(key_id=key.id, actor=SYSTEM, reason="r")),
        (S.COMPROMISED, lambda key: lifecycle.key_restore(key_id=key.id, actor=SYSTEM, reason="r", approval="")),
        (S.ACTIVE, lambda key: lifecycle.key_restore(key_id=key.id, actor=SYSTEM, reason="r", approval="")),
        (S.SUSPENDED, lambda key: lifecycle.key_activate(key_id=key.id, actor=SYSTEM, reason="r")),
        (S.SUSPENDED, lambda key: lifecycle.key_deactivate(key_id=key.id, actor=SYSTEM, reason="r")),
        (S.ACTIVE, lambda key: lifecycle.key_destroy(key_id=key.id, actor=SYSTEM, reason="r")),
        (S.DESTROYED, lambda key: lifecycle.key_activate(key_id=key.id, actor=SYSTEM, reason="r")),
        (S.DEACTIVATED, lambda key: lifecycle.key_activate(key_id=key.id, actor=SYSTEM, reason="r")),
    ],
)
def test_illegal_transitions_get_a_stable_code(state, move):
    key, _ = make_key("local", state)
    with pytest.raises(IllegalTransition) as refused:
        move(key)
    assert refused.value.code == "illegal_key_transition"
    assert refused.value.details["state"] == state.value
    key.refresh_from_db()
    assert key.key_state is state  # nothing half-written


def test_every_change_is_dated_attributed_and_audited():
    key, _ = make_key("local", S.ACTIVE)
    lifecycle.key_suspend(key_ids=[key.id], actor=SYSTEM, reason="scanner hit", incident="INC-7")
    lifecycle.key_compromise(key_id=key.id, actor=SYSTEM, reason="confirmed", incident="INC-7")
    key.refresh_from_db()
    assert key.activated_at is not None
    assert key.suspended_at is not None
    assert key.compromise_discovered_at is not None
    events = list(AuditEvent.objects.for_subject("key", key.id).values_list("action", "incident", "data"))
    assert [e[0] for e in events] == ["key.created", "key.active", "key.suspended", "key.compromised"]
    assert events[2][1] == "INC-7"
    assert events[3][2]["from"] == "suspended"


def test_a_reason_is_required():
    key, _ = make_key("local", S.ACTIVE)
    with pytest.raises(InvalidKeyRequest):
        lifecycle.key_suspend(key_ids=[key.id], actor=SYSTEM, reason="  ")


def test_suspending_a_kek_suspends_every_key_it_wrapped():
    kek, _ = make_key("local", S.ACTIVE, alias="kek")
    dek = lifecycle.key_create(actor=SYSTEM, alias="dek", purpose="p", parent_id=kek.id)
    grandchild = lifecycle.key_create(actor=SYSTEM, alias="dek2", purpose="p", parent_id=dek.id)
    unrelated = lifecycle.key_create(actor=SYSTEM, alias="other", purpose="p")
    result = lifecycle.key_suspend(key_ids=[kek.id], actor=SYSTEM, reason="KEK leaked")
    assert set(result.suspended) == {kek.id, dek.id, grandchild.id}
    assert ManagedKey.objects.get(id=unrelated.id).key_state is S.ACTIVE
    cascade = AuditEvent.objects.get(action="key.suspended", subject_id=str(grandchild.id))
    assert cascade.data["cascade_from"] == [str(kek.id)]


def test_compromise_taints_wrapped_keys():
    kek, _ = make_key("local", S.ACTIVE, alias="kek")
    dek = lifecycle.key_create(actor=SYSTEM, alias="dek", purpose="p", parent_id=kek.id)
    changed = lifecycle.key_compromise(key_id=kek.id, actor=SYSTEM, reason="KEK leaked")
    assert {k.id for k in changed} == {kek.id, dek.id}
    assert AuditEvent.objects.get(action="key.compromised", subject_id=str(dek.id)).data["tainted_by"] == str(kek.id)


def test_blast_radius_reaches_assets_systems_and_jurisdictions():
    billing = System.objects.create(name="billing")
    crm = System.objects.create(name="crm")
    cards = DataAsset.objects.create(
        name="cards", system=billing, data_categories=["payment"], record_count=1200, jurisdictions=["EU", "US-CA"]
    )
    prompts = DataAsset.objects.create(
        name="prompts", system=crm, data_categories=["personal_data"], record_count=300, jurisdictions=["DE"]
    )
    kek = lifecycle.key_create(actor=SYSTEM, alias="kek", purpose="p", data_asset_ids=[cards.id])
    lifecycle.key_create(
        actor=SYSTEM,
        alias="dek",
        purpose="p",
        parent_id=kek.id,
        data_asset_ids=[prompts.id],
        ai_category="prompt_store",
    )
    radius = lifecycle.key_suspend(key_ids=[kek.id], actor=SYSTEM, reason="leak").blast_radius
    assert radius is not None
    assert len(radius.keys) == 2
    assert radius.systems == ["billing", "crm"]
    assert radius.jurisdictions == ["DE", "EU", "US-CA"]
    assert radius.record_count == 1500
    assert radius.ai_categories == ["prompt_store"]
    assert radius.as_dict()["key_count"] == 2


def test_one_active_key_per_alias_and_replacement_takes_the_alias():
    key, _ = make_key("local", S.ACTIVE)
    with pytest.raises(AliasInUse):
        lifecycle.key_create(actor=SYSTEM, alias="payments", purpose="p")
    lifecycle.key_suspend(key_ids=[key.id], actor=SYSTEM, reason="leak")
    replacement = lifecycle.key_replace(key_id=key.id, actor=SYSTEM, reason="replace")
    assert replacement.key_state is S.ACTIVE
    assert replacement.alias == "payments"
    assert lifecycle.key_replace(key_id=key.id, actor=SYSTEM, reason="again") == replacement  # idempotent
    with pytest.raises(AliasInUse):  # the false positive cannot come back while the replacement holds the alias
        lifecycle.key_restore(key_id=key.id, actor=SYSTEM, reason="false positive", approval=approved_restore(key))


def test_legal_hold_blocks_destruction():
    key, _ = make_key("local", S.DEACTIVATED)
    ManagedKey.objects.filter(id=key.id).update(legal_hold=True)
    with pytest.raises(LegalHoldActive):
        lifecycle.key_destroy(key_id=key.id, actor=SYSTEM, reason="cleanup")


def test_destruction_erases_material_and_keeps_metadata(backend):
    key, _ = make_key(backend, S.DESTROYED_COMPROMISED)
    version = key.versions.get()
    assert bytes(version.material) == b""
    assert version.destroyed_at is not None
    assert version.fingerprint  # metadata kept


def test_rotation_keeps_old_ciphertext_readable(app):
    from keyvault.services import gate

    key, sealed = make_key("local", S.ACTIVE, app=app)
    lifecycle.key_rotate(key_id=key.id, actor=SYSTEM, reason="yearly")
    (newer,) = gate.gate_encrypt(key_id=key.id, items=[gate.EncryptItem(b"new")], principal=app)
    from keyvault import ciphertext as ct

    assert ct.parse(newer).key_version == 2
    from tests.keyvault.conftest import AAD, PLAINTEXT

    assert gate.gate_decrypt(items=[gate.DecryptItem(sealed, AAD), gate.DecryptItem(newer)], principal=app) == [
        PLAINTEXT,
        b"new",
    ]


def test_usage_is_counted_not_logged_for_active_keys(app):
    from keyvault import selectors
    from keyvault.services import gate

    key, sealed = make_key("local", S.ACTIVE, app=app)
    gate.gate_encrypt(key_id=key.id, items=[gate.EncryptItem(b"a")] * 3, principal=app)
    gate.gate_decrypt(items=[gate.DecryptItem(sealed, b"tenant=42")], principal=app)
    totals = selectors.key_usage_totals(key)
    assert totals["encrypt_count"] == 4  # one at creation time (make_key) and three here
    assert totals["decrypt_count"] == 1
    assert totals["last_used_at"] is not None
    assert not AuditEvent.objects.filter(action__startswith="key.decrypt").exists()
