"""The registry of data to rewrap: applications register their wrapped data keys (or small
ciphertexts) here, so that a compromise can re-encrypt them under the replacement key for them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from django.db import transaction

from keyvault import ciphertext as ct
from keyvault.errors import CiphertextKeyMismatch, InvalidKeyRequest, KeyNotFound, MalformedCiphertext
from keyvault.models import DataAsset, ManagedKey, WrappedItem


@dataclass(frozen=True, slots=True)
class ItemToRegister:
    reference: str
    ciphertext: bytes
    aad: bytes = b""
    data_asset_id: int | None = None


@transaction.atomic
def wrapped_items_register(*, key_id: UUID, items: Sequence[ItemToRegister]) -> int:
    """Register (or replace, by data asset and reference) ciphertexts made under ``key_id``."""
    if not ManagedKey.objects.filter(id=key_id).exists():
        raise KeyNotFound(f"no key with id {key_id}")
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
