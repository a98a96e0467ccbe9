"""From a signal's key references to managed keys."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet

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


def _prefer_live(keys: QuerySet[ManagedKey]) -> ManagedKey | None:
    """Of several keys under one name (a key and its replacement): the active one, else the latest."""
    live = keys.exclude(state__in=[s.value for s in DESTROYED_STATES])
    return (
        live.filter(state=KeyState.ACTIVE.value).first()
        or live.order_by("-state_changed_at").first()
        or keys.order_by("-state_changed_at").first()
    )


def _by_backend_ref(ref: str) -> ManagedKey | None:
    """``NAME:<id>`` of a key manager (or any external reference), a KMS key ARN or alias ARN's key, a
    KMIP UID or transit ``name#version`` as the manager gives it, or a PKCS#11 object id."""
    key = _prefer_live(ManagedKey.objects.filter(external_ref=ref))
    if key is not None:
        return key
    if ref.startswith("arn:aws:kms:") and ":key/" in ref:
        key = _prefer_live(
            ManagedKey.objects.filter(manager__isnull=False, external_ref__endswith=":" + ref.split("/")[-1])
        )
        if key is not None:
            return key
    version = KeyVersion.objects.filter(key__manager__isnull=False, material=ref.encode()).select_related("key").first()
    if version is not None:
        return version.key
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


def _preferred(keys: list[ManagedKey]) -> ManagedKey:
    """``_prefer_live`` over keys already loaded."""
    live = [k for k in keys if k.key_state not in DESTROYED_STATES] or keys
    active = [k for k in live if k.key_state is KeyState.ACTIVE]
    return active[0] if active else max(live, key=lambda k: k.state_changed_at)


def keys_resolve(references: list[KeyReference]) -> tuple[list[ManagedKey], list[KeyReference]]:
    found: dict[uuid.UUID, ManagedKey] = {}
    unresolved = []
    # Backend references in one query (a signal may name a thousand keys of a key manager).
    refs = [r.value for r in references if r.kind == "backend_ref"]
    by_ref: dict[str, list[ManagedKey]] = {}
    for candidate in ManagedKey.objects.filter(external_ref__in=refs) if refs else []:
        by_ref.setdefault(candidate.external_ref, []).append(candidate)
    for reference in references:
        known = by_ref.get(reference.value) if reference.kind == "backend_ref" else None
        key = _preferred(known) if known else key_resolve(reference)
        if key is None:
            unresolved.append(reference)
        else:
            found.setdefault(key.id, key)
    return list(found.values()), unresolved
