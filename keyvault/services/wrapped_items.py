"""The registry of data to rewrap: applications register their wrapped data keys (or small
ciphertexts) here, so that a compromise can re-encrypt them under the replacement key for them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from django.db import transaction

from audit.actors import Actor
from audit.services import audit_record
from keyvault import ciphertext as ct
from keyvault.backends.managers import ManagerConnector
from keyvault.errors import (
    CiphertextKeyMismatch,
    DecryptGrantRequired,
    IllegalTransition,
    InvalidKeyRequest,
    KeyNotFound,
    KeyQuarantined,
    MalformedCiphertext,
)
from keyvault.models import DataAsset, ManagedKey, WrappedItem
from keyvault.policy import SYSTEM, Caller, Verdict, manage_verdict
from keyvault.services.grants import decrypt_grant_consume, job_principal
from keyvault.services.versions import backend_errors, key_backend, version_ref
from keyvault.states import KeyState


@dataclass(frozen=True, slots=True)
class ItemToRegister:
    reference: str
    ciphertext: bytes
    aad: bytes = b""
    data_asset_id: int | None = None


@transaction.atomic
def wrapped_items_register(*, key_id: UUID, items: Sequence[ItemToRegister], caller: Caller = SYSTEM) -> int:
    """Register (or replace, by data asset and reference) ciphertexts made under ``key_id``. Never
    under a quarantined key: what it holds is being rewrapped (409 ``key_quarantined``; 404 for callers
    outside incident response). The key is locked, so a suspension waits for this to commit."""
    key = ManagedKey.objects.select_for_update().filter(id=key_id).only("id", "state", "manager_id").first()
    if key is None:
        raise KeyNotFound(f"no key with id {key_id}")
    verdict = manage_verdict(caller, key.key_state)
    if verdict is Verdict.NOT_FOUND:
        raise KeyNotFound(f"no key with id {key_id}")
    if verdict is Verdict.NOT_USABLE:
        raise KeyQuarantined(
            f"key {key_id} is {key.key_state.label}: no new wrapped items under it", key=str(key_id), state=key.state
        )
    asset_ids = {item.data_asset_id for item in items if item.data_asset_id is not None}
    if asset_ids and DataAsset.objects.filter(id__in=asset_ids).count() != len(asset_ids):
        raise InvalidKeyRequest("unknown data asset id")
    for index, item in enumerate(items):
        if not item.reference.strip():
            raise InvalidKeyRequest(f"item {index} has no reference")
        if key.manager_id is not None:
            # The key manager's own ciphertext (transit "vault:v…", a KMS blob): rewrapped there.
            if not item.ciphertext:
                raise MalformedCiphertext(f"item {index} is empty")
            continue
        try:
            envelope = ct.parse(item.ciphertext)
        except ct.CiphertextFormatError as exc:
            raise MalformedCiphertext(f"item {index}: {exc}") from None
        if envelope.key_id != key_id:
            raise CiphertextKeyMismatch(f"item {index} was made under key {envelope.key_id}, not {key_id}")
    for item in items:
        WrappedItem.objects.update_or_create(
            data_asset_id=item.data_asset_id,
            reference=item.reference.strip(),
            defaults={"key_id": key_id, "ciphertext": item.ciphertext, "aad": item.aad},
        )
    return len(items)


@dataclass(frozen=True, slots=True)
class ManagerRewrap:
    ciphertexts: list[bytes]
    grant: int | None


def wrapped_items_rewrap_on_manager(
    *, key_id: UUID, replacement_id: UUID, ciphertexts: Sequence[bytes], job: str, incident: str
) -> ManagerRewrap:
    """Re-encrypt a key manager's ciphertexts under the replacement with the manager's own operation
    (transit ``rewrap``, KMS ``ReEncrypt``): the plaintext never leaves the manager. A compromised
    source needs the job's live decrypt grant (consumed per item), as a rewrap through the gate does;
    the use is audited with the incident. Call inside the batch's transaction."""
    source, target = ManagedKey.objects.get(id=key_id), ManagedKey.objects.get(id=replacement_id)
    if source.manager_id is None or source.manager_id != target.manager_id:
        raise IllegalTransition("rewrap on a key manager needs both keys on the same manager")
    if target.key_state is not KeyState.ACTIVE:
        raise IllegalTransition(f"the replacement {target.id} is {target.key_state.label}: it cannot encrypt")
    grant = None
    if source.key_state is KeyState.COMPROMISED:
        grant = decrypt_grant_consume(
            key_id=source.id, principal=job_principal(job), purpose="rewrap", count=len(ciphertexts)
        )
        if grant is None:
            raise DecryptGrantRequired(f"key {source.id} is compromised: the rewrap job {job} has no live grant left")
    connector = key_backend(source)
    assert isinstance(connector, ManagerConnector)
    source_version = source.versions.filter(destroyed_at__isnull=True).order_by("-version").first()
    target_version = target.versions.order_by("-version").first()
    if source_version is None or target_version is None:
        raise IllegalTransition("both keys need a live version to rewrap")
    with backend_errors():
        sealed = connector.rewrap(version_ref(source_version), version_ref(target_version), list(ciphertexts))
    audit_record(
        action="key.rewrap_on_manager",
        actor=Actor.system("rewrap"),
        subject_type="key",
        subject_id=source.id,
        reason="re-encrypt under the replacement key, inside the key manager",
        incident=incident,
        data={
            "count": len(ciphertexts),
            "target": str(target.id),
            "job": job,
            "affected_system": "wrapped-item registry",
            "grant": grant.pk if grant else None,
            "manager": connector.manager_name,
        },
    )
    return ManagerRewrap(ciphertexts=sealed, grant=grant.pk if grant else None)
