"""Every cell of the state-by-operation table, on both backends (local keystore and SoftHSM2)."""

from __future__ import annotations

import os

import pytest

from audit.models import AuditEvent
from keyvault import ciphertext as ct
from keyvault.errors import (
    AliasHasNoUsableKey,
    DecryptContextRequired,
    DecryptGrantRequired,
    GateAccessDenied,
    KeyDestroyed,
    KeyNotFound,
    KeyNotUsableForDecryption,
    KeyNotUsableForEncryption,
)
from keyvault.services import gate, lifecycle
from keyvault.states import KeyState
from keyvault.types import Principal
from tests.keyvault.conftest import AAD, FORENSICS, PLAINTEXT, SYSTEM, approved_restore, grant, job_grant, make_key

pytestmark = pytest.mark.django_db
S = KeyState

# What a gate user (a service account, outside incident response) gets for each operation, per state:
# a quarantined key does not exist for it (segregation), except to decrypt its own ciphertext under a
# suspended key (availability; every use logged).
ENCRYPT = {
    S.PRE_ACTIVE: KeyNotUsableForEncryption,
    S.ACTIVE: None,
    S.SUSPENDED: KeyNotFound,
    S.DEACTIVATED: KeyNotUsableForEncryption,
    S.COMPROMISED: KeyNotFound,
    S.DESTROYED: KeyDestroyed,
    S.DESTROYED_COMPROMISED: KeyDestroyed,
}
DECRYPT = {
    S.PRE_ACTIVE: KeyNotUsableForDecryption,
    S.ACTIVE: None,
    S.SUSPENDED: None,
    S.DEACTIVATED: None,
    S.COMPROMISED: KeyNotFound,
    S.DESTROYED: KeyDestroyed,
    S.DESTROYED_COMPROMISED: KeyDestroyed,
}


@pytest.mark.parametrize("state", list(S))
def test_encrypt_and_data_key(backend, app, state):
    key, _ = make_key(backend, state)
    expected = ENCRYPT[state]
    if expected is None:
        (sealed,) = gate.gate_encrypt(key_id=key.id, items=[gate.EncryptItem(PLAINTEXT)], principal=app)
        assert ct.parse(sealed).key_id == key.id
        (data_key,) = gate.gate_data_keys(key_id=key.id, principal=app)
        assert len(data_key.plaintext) == 32
        assert gate.gate_decrypt(items=[gate.DecryptItem(data_key.wrapped)], principal=app) == [data_key.plaintext]
        return
    with pytest.raises(expected) as refused:
        gate.gate_encrypt(key_id=key.id, items=[gate.EncryptItem(PLAINTEXT)], principal=app)
    if expected is KeyNotUsableForEncryption:
        assert refused.value.http_status == 409
        assert state.label in refused.value.message
    with pytest.raises(expected):
        gate.gate_data_keys(key_id=key.id, principal=app)


@pytest.mark.parametrize("state", list(S))
def test_alias_never_resolves_to_a_quarantined_key(backend, app, state):
    key, _ = make_key(backend, state)
    if state is S.ACTIVE:
        key_id, _ = gate.gate_encrypt_alias(alias="payments", items=[gate.EncryptItem(PLAINTEXT)], principal=app)
        assert key_id == key.id
    else:
        with pytest.raises(AliasHasNoUsableKey):
            gate.gate_encrypt_alias(alias="payments", items=[gate.EncryptItem(PLAINTEXT)], principal=app)


@pytest.mark.parametrize("state", list(S))
def test_decrypt_by_a_gate_user(backend, app, state):
    _key, blob = make_key(backend, state, app=app)
    before = AuditEvent.objects.filter(action="key.decrypt").count()
    expected = DECRYPT[state]
    if expected is None:
        assert gate.gate_decrypt(items=[gate.DecryptItem(blob, AAD)], principal=app) == [PLAINTEXT]
    else:
        with pytest.raises(expected):
            gate.gate_decrypt(items=[gate.DecryptItem(blob, AAD)], principal=app)
    logged = AuditEvent.objects.filter(action="key.decrypt").count() - before
    assert logged == (1 if state is S.SUSPENDED else 0)  # suspended: every use logged; active: counted only


@pytest.mark.parametrize("state", [S.SUSPENDED, S.COMPROMISED])
def test_decrypt_by_an_incident_responder(backend, responder, state):
    key, sealed = make_key(backend, state)
    if state is S.COMPROMISED:
        with pytest.raises(DecryptContextRequired):
            gate.gate_decrypt(items=[gate.DecryptItem(sealed, AAD)], principal=responder)
        # The incident-response permission alone is not enough: a live, approved grant is.
        with pytest.raises(DecryptGrantRequired):
            gate.gate_decrypt(items=[gate.DecryptItem(sealed, AAD)], principal=responder, context=FORENSICS)
        grant(key, "responder", budget=1)
    result = gate.gate_decrypt(items=[gate.DecryptItem(sealed, AAD)], principal=responder, context=FORENSICS)
    assert result == [PLAINTEXT]
    event = AuditEvent.objects.filter(action="key.decrypt", subject_id=str(key.id)).latest("seq")
    assert event.actor == "responder"
    assert event.reason == FORENSICS.justification
    assert event.incident == "INC-1"
    assert event.affected_system == "billing-db"
    assert event.data["ciphertext"] == ct.fingerprint(sealed)
    assert event.data["state"] == state.value
    if state is S.COMPROMISED:
        assert event.data["grant"] is not None
        with pytest.raises(DecryptGrantRequired):  # the budget of one is spent
            gate.gate_decrypt(items=[gate.DecryptItem(sealed, AAD)], principal=responder, context=FORENSICS)


@pytest.mark.parametrize("state", [S.ACTIVE, S.DEACTIVATED])
def test_a_responder_without_gate_permission_cannot_touch_inventory_keys(backend, responder, state):
    key, sealed = make_key(backend, state)
    with pytest.raises(GateAccessDenied):
        gate.gate_decrypt(items=[gate.DecryptItem(sealed, AAD)], principal=responder, context=FORENSICS)
    with pytest.raises(GateAccessDenied):
        gate.gate_encrypt(key_id=key.id, items=[gate.EncryptItem(PLAINTEXT)], principal=responder)


def test_a_rewrap_job_decrypts_a_compromised_key_with_a_batch_event(backend):
    key, sealed = make_key(backend, S.COMPROMISED)
    replacement = lifecycle.key_replace(key_id=key.id, actor=SYSTEM, reason="replace", incident="INC-1")
    with pytest.raises(DecryptGrantRequired):  # a job carries its own grant, or decrypts nothing
        gate.gate_rewrap(
            items=[gate.DecryptItem(sealed, AAD)], principal=Principal.for_rewrap_job("INC-1/rewrap"), context=FORENSICS
        )
    job = job_grant(key, "INC-1/rewrap")
    target, rewrapped = gate.gate_rewrap(items=[gate.DecryptItem(sealed, AAD)] * 3, principal=job, context=FORENSICS)
    assert target == replacement.id
    assert gate.gate_decrypt(items=[gate.DecryptItem(b, AAD) for b in rewrapped], principal=job) == [PLAINTEXT] * 3
    event = AuditEvent.objects.get(action="key.rewrap_decrypt_batch")
    assert event.data["count"] == 3
    assert event.data["job"] == "INC-1/rewrap"
    assert len(event.data["ciphertexts_digest"]) == 64


def test_the_backend_itself_refuses_encryption_once_restricted(backend):
    """The second lock: even a caller that skipped the gate cannot encrypt on the backend."""
    from keyvault.backends.base import AeadBatch, BackendRefused
    from keyvault.services.versions import key_backend, version_ref

    key, _ = make_key(backend, S.COMPROMISED)
    version = key.versions.get()
    with pytest.raises(BackendRefused):
        key_backend(key).encrypt(version_ref(version), AeadBatch([os.urandom(12)], [b"x"], [b""]))
    assert key_backend(key).verify_restriction(version_ref(version)).decrypt_only


def test_restore_lifts_the_backend_restriction(backend, app):
    key, sealed = make_key(backend, S.SUSPENDED)
    lifecycle.key_restore(key_id=key.id, actor=SYSTEM, reason="false positive", approval=approved_restore(key))
    (again,) = gate.gate_encrypt(key_id=key.id, items=[gate.EncryptItem(PLAINTEXT, AAD)], principal=app)
    assert gate.gate_decrypt(items=[gate.DecryptItem(again, AAD), gate.DecryptItem(sealed, AAD)], principal=app) == [
        PLAINTEXT,
        PLAINTEXT,
    ]


@pytest.mark.parametrize("state", list(S))
def test_rewrap_follows_the_source_keys_decrypt_rules(backend, app, state):
    _key, blob = make_key(backend, state, app=app)
    target = lifecycle.key_create(actor=SYSTEM, alias="target", purpose="tests", backend=backend)
    expected = DECRYPT[state]
    if expected is None:
        target_id, (rewrapped,) = gate.gate_rewrap(
            items=[gate.DecryptItem(blob, AAD)], principal=app, target_key_id=target.id
        )
        assert target_id == target.id
        assert gate.gate_decrypt(items=[gate.DecryptItem(rewrapped, AAD)], principal=app) == [PLAINTEXT]
    else:
        with pytest.raises(expected):
            gate.gate_rewrap(items=[gate.DecryptItem(blob, AAD)], principal=app, target_key_id=target.id)


@pytest.mark.parametrize("state", [s for s in S if s is not S.ACTIVE])
def test_rewrap_never_encrypts_under_a_target_that_is_not_active(backend, app, state):
    _source, blob = make_key(backend, S.ACTIVE, alias="source", app=app)
    target, _ = make_key(backend, state, alias="target")
    with pytest.raises((KeyNotFound, KeyNotUsableForEncryption, KeyDestroyed)) as refused:
        gate.gate_rewrap(items=[gate.DecryptItem(blob, AAD)], principal=app, target_key_id=target.id)
    if state in (S.SUSPENDED, S.COMPROMISED):
        assert isinstance(refused.value, KeyNotFound)
