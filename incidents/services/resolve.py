"""From a signal's key references to managed keys."""

from __future__ import annotations

import uuid

from django.db.models import Q

from incidents.cloudevents import KeyReference
from keyvault.models import KeyVersion, ManagedKey
from keyvault.states import DESTROYED_STATES, KeyState


def _by_alias(alias: str) -> ManagedKey | None:
    """The active key under the alias; else the most recently changed key under it that still exists."""
    active = ManagedKey.objects.filter(alias=alias, state=KeyState.ACTIVE.value).first()
    if active is not None:
        return active
    return (
        ManagedKey.objects.filter(alias=alias)
        .exclude(state__in=[s.value for s in DESTROYED_STATES])
        .order_by("-state_changed_at")
        .first()
    )


def _by_backend_ref(ref: str) -> ManagedKey | None:
    key = ManagedKey.objects.filter(external_ref=ref).first()
    if key is not None:
        return key
    raw = ref.removeprefix("pkcs11:")
    try:
        object_id = bytes.fromhex(raw)
    except ValueError:
        return None
    version = KeyVersion.objects.filter(key__backend="pkcs11", material=object_id).select_related("key").first()
    return version.key if version else None


def key_resolve(reference: KeyReference) -> ManagedKey | None:
    if reference.kind == "id":
        try:
            return ManagedKey.objects.filter(id=uuid.UUID(reference.value)).first()
        except ValueError:
            return None
    if reference.kind == "alias":
        return _by_alias(reference.value)
    if reference.kind == "backend_ref":
        return _by_backend_ref(reference.value)
    version = KeyVersion.objects.filter(Q(fingerprint=reference.value.lower())).select_related("key").first()
    return version.key if version else None


def keys_resolve(references: list[KeyReference]) -> tuple[list[ManagedKey], list[KeyReference]]:
    found: dict[uuid.UUID, ManagedKey] = {}
    unresolved = []
    for reference in references:
        key = key_resolve(reference)
        if key is None:
            unresolved.append(reference)
        else:
            found.setdefault(key.id, key)
    return list(found.values()), unresolved
