"""The registry of data to rewrap: applications register their wrapped data keys (or small
ciphertexts) here, so that a compromise can re-encrypt them under the replacement key for them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from django.db import transaction

from keyvault import ciphertext as ct
from keyvault.errors import CiphertextKeyMismatch, InvalidKeyRequest, KeyNotFound, KeyQuarantined, MalformedCiphertext
from keyvault.models import DataAsset, ManagedKey, WrappedItem
from keyvault.policy import SYSTEM, Caller, Verdict, manage_verdict


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
    key = ManagedKey.objects.select_for_update().filter(id=key_id).only("id", "state").first()
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
