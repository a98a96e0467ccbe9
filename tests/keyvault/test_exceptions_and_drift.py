"""Encryption exceptions (scope, budget, expiry) and backend drift detection, on both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from keyvault.backends.pkcs11_hsm import Pkcs11Backend
from keyvault.errors import IllegalTransition, InvalidKeyRequest, KeyNotFound, KeyNotUsableForEncryption
from keyvault.models import EncryptionException
from keyvault.services import gate, restriction
from keyvault.services.exceptions import encryption_exception_create, encryption_exception_revoke
from keyvault.services.versions import key_backend, version_ref
from keyvault.states import KeyState
from keyvault.types import UseContext
from tests.keyvault.conftest import PLAINTEXT, SYSTEM, job_grant, make_key

pytestmark = pytest.mark.django_db
LEGACY = UseContext(purpose="legacy-batch-close", justification="closing the day's batch", incident="INC-1")


def _grant(key, *, principal="payments-app", purpose="legacy-batch-close", budget=2, hours=1):
    return encryption_exception_create(
        key_id=key.id,
        principal=principal,
        purpose=purpose,
        reason="approved by quorum",
        valid_for=timedelta(hours=hours),
        operation_budget=budget,
        actor=SYSTEM,
        incident="INC-1",
    )


def _encrypt(key, app, context=LEGACY):
    return gate.gate_encrypt(key_id=key.id, items=[gate.EncryptItem(PLAINTEXT)], principal=app, context=context)


def test_an_exception_allows_its_budget_and_nothing_more(backend, app):
    key, _ = make_key(backend, KeyState.COMPROMISED)
    _grant(key, budget=2)
    (first,) = _encrypt(key, app)
    _encrypt(key, app)
    with pytest.raises(KeyNotUsableForEncryption, match="no approved, unexpired encryption exception"):
        _encrypt(key, app)
    job = job_grant(key, "t")
    forensics = UseContext(justification="j", incident="INC-1", affected_system="s")
    assert gate.gate_decrypt(items=[gate.DecryptItem(first)], principal=job, context=forensics) == [PLAINTEXT]
    uses = AuditEvent.objects.filter(action="key.encrypt_under_exception")
    assert uses.count() == 2
    assert {e.actor for e in uses} == {"payments-app"}
    # The backend is decrypt-only again after each exception use.
    assert key_backend(key).verify_restriction(version_ref(key.versions.get())).decrypt_only


def test_an_exception_is_scoped_to_caller_and_purpose(backend, app):
    key, _ = make_key(backend, KeyState.COMPROMISED)
    _grant(key, principal="someone-else")
    with pytest.raises(KeyNotFound):  # an application never granted one does not learn of the compromise
        _encrypt(key, app)
    _grant(key)
    with pytest.raises(KeyNotUsableForEncryption):
        _encrypt(key, app, UseContext(purpose="another purpose"))
    _encrypt(key, app)


def test_an_expired_or_revoked_exception_allows_nothing(backend, app):
    key, _ = make_key(backend, KeyState.COMPROMISED)
    exception = _grant(key)
    EncryptionException.objects.filter(pk=exception.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(KeyNotUsableForEncryption):
        _encrypt(key, app)
    live = _grant(key)
    encryption_exception_revoke(exception_id=live.pk, actor=SYSTEM, reason="no longer needed")
    with pytest.raises(KeyNotUsableForEncryption):
        _encrypt(key, app)


def test_exception_rules():
    from keyvault.services import lifecycle

    key = lifecycle.key_create(actor=SYSTEM, alias="a", purpose="p")
    with pytest.raises(IllegalTransition, match="only for compromised keys"):
        _grant(key)
    lifecycle.key_compromise(key_id=key.id, actor=SYSTEM, reason="leak")
    with pytest.raises(InvalidKeyRequest, match="at most"):
        _grant(key, hours=25)
    with pytest.raises(InvalidKeyRequest, match="budget"):
        _grant(key, budget=0)


@pytest.mark.parametrize("backend", ["pkcs11"], indirect=True)
def test_drift_on_the_hsm_is_detected_alerted_and_repaired(backend, app):
    """Only an HSM attribute can drift; the local keystore's restriction is cryptographic (next test)."""
    key, _ = make_key(backend, KeyState.COMPROMISED)
    version = version_ref(key.versions.get())
    hsm = key_backend(key)
    assert isinstance(hsm, Pkcs11Backend)
    hsm.set_encrypt_attribute(version, True)  # what SoftHSM lets anyone with the PIN do
    assert not hsm.verify_restriction(version).decrypt_only

    findings = restriction.restrictions_verify_all(actor=SYSTEM)

    assert [f.key_id for f in findings] == [str(key.id)]
    assert findings[0].repaired
    drift = AuditEvent.objects.get(action="key.restriction_drift")
    assert drift.subject_id == str(key.id)
    assert "CKA_ENCRYPT=True" in str(drift.data["versions"])
    repaired = AuditEvent.objects.filter(action="key.restricted", subject_id=str(key.id)).latest("seq")
    assert repaired.data["cause"] == restriction.CAUSE_DRIFT
    assert "re-applied on the backend after drift" in repaired.reason
    assert hsm.verify_restriction(version).decrypt_only
    assert restriction.restrictions_verify_all(actor=SYSTEM) == []  # nothing left to repair


def test_tampered_local_material_is_reported_not_ignored(app):
    from keyvault.models import KeyVersion

    key, _ = make_key("local", KeyState.COMPROMISED)
    version = key.versions.get()
    material = bytearray(version.material)
    material[3:4] = b"E"  # flip the stored mode back to encrypt+decrypt
    KeyVersion.objects.filter(pk=version.pk).update(material=bytes(material))
    findings = restriction.restrictions_verify_all(actor=SYSTEM)
    assert len(findings) == 1
    assert not findings[0].repaired
    assert AuditEvent.objects.filter(action="key.restriction_check_failed", subject_id=str(key.id)).exists()
