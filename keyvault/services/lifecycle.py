"""The key state machine: every transition validated, dated, attributed and audited, here and only here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.actors import Actor
from audit.services import EventDraft, audit_record, audit_record_many
from keyvault.backends import BackendNotConfigured, backend_for
from keyvault.errors import IllegalTransition, InvalidKeyRequest, KeyNotFound, LegalHoldActive
from keyvault.models import USAGE_SHARDS, AiDataCategory, DataAsset, KeyUsage, KeyVersion, ManagedKey, System
from keyvault.services.blast_radius import BlastRadius, key_blast_radius, key_descendant_ids
from keyvault.services.versions import backend_errors, key_backend, version_material_set, version_ref
from keyvault.states import DESTROYED_STATES, SUSPENDABLE, KeyState, transition_allowed

S = KeyState
_DATE_FIELD = {
    S.ACTIVE: "activated_at",
    S.SUSPENDED: "suspended_at",
    S.DEACTIVATED: "deactivated_at",
    S.DESTROYED: "destroyed_at",
    S.DESTROYED_COMPROMISED: "destroyed_at",
}


class AliasInUse(IllegalTransition):
    code = "alias_in_use"


def _locked(key_ids: Iterable[UUID]) -> list[ManagedKey]:
    """Lock rows in id order (every writer does), so concurrent transitions cannot deadlock."""
    ids = sorted(set(key_ids))
    keys = list(ManagedKey.objects.select_for_update().filter(id__in=ids).order_by("id"))
    if len(keys) != len(ids):
        missing = sorted({str(i) for i in ids} - {str(k.id) for k in keys})
        raise KeyNotFound(f"no key with id {', '.join(missing)}")
    return keys


def _apply(
    key: ManagedKey,
    target: KeyState,
    *,
    actor: Actor,
    reason: str,
    incident: str = "",
    at: datetime | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    source = key.key_state
    if not transition_allowed(source, target):
        raise IllegalTransition(
            f"key {key.id} cannot go from {source.label} to {target.label}",
            key=str(key.id),
            state=source.value,
            target=target.value,
        )
    now = at or timezone.now()
    key.state = target.value
    key.state_changed_at = now
    if target in _DATE_FIELD:
        setattr(key, _DATE_FIELD[target], now)
    if target is S.COMPROMISED:
        key.compromise_discovered_at = key.compromise_discovered_at or now
    try:
        with transaction.atomic():
            key.save()
    except IntegrityError:
        raise AliasInUse(
            f"another key is already active under alias {key.alias!r}", key=str(key.id), alias=key.alias
        ) from None
    audit_record(
        action=f"key.{target.value}",
        actor=actor,
        subject_type="key",
        subject_id=key.id,
        reason=reason,
        incident=incident,
        data={"from": source.value, "to": target.value, "alias": key.alias, **(data or {})},
    )


def _require_reason(reason: str) -> str:
    if not reason.strip():
        raise InvalidKeyRequest("a reason is required for every key state change")
    return reason.strip()


# --- creation ----------------------------------------------------------------------------------
@transaction.atomic
def key_create(
    *,
    actor: Actor,
    alias: str,
    purpose: str,
    backend: str = ManagedKey.Backend.LOCAL,
    ai_category: str = "",
    parent_id: UUID | None = None,
    custodian: Any = None,
    activate: bool = True,
    data_asset_ids: Sequence[int] = (),
    system_ids: Sequence[int] = (),
) -> ManagedKey:
    if backend not in ManagedKey.Backend.values:
        raise InvalidKeyRequest(f"unknown backend {backend!r}; use one of {', '.join(ManagedKey.Backend.values)}")
    if ai_category not in AiDataCategory.values:
        raise InvalidKeyRequest(f"unknown AI data category {ai_category!r}")
    try:
        backend_for(backend)
    except BackendNotConfigured as exc:  # a choice this deployment does not offer: the caller's to change
        raise InvalidKeyRequest(str(exc), backend=backend) from None
    parent = None
    if parent_id is not None:
        parent = ManagedKey.objects.filter(id=parent_id).first()
        if parent is None:
            raise KeyNotFound(f"no parent key with id {parent_id}")
        if parent.key_state in DESTROYED_STATES:
            raise InvalidKeyRequest("a destroyed key cannot be a parent")
    assets = list(DataAsset.objects.filter(id__in=data_asset_ids))
    systems = list(System.objects.filter(id__in=system_ids))
    if len(assets) != len(set(data_asset_ids)) or len(systems) != len(set(system_ids)):
        raise InvalidKeyRequest("unknown data asset or system id")

    key = ManagedKey.objects.create(
        alias=alias, purpose=purpose, backend=backend, ai_category=ai_category, parent=parent, custodian=custodian
    )
    key.data_assets.set(assets)
    key.systems.set(systems)
    KeyUsage.objects.bulk_create([KeyUsage(key=key, shard=shard) for shard in range(USAGE_SHARDS)])
    _add_version(key, 1)
    audit_record(
        action="key.created",
        actor=actor,
        subject_type="key",
        subject_id=key.id,
        reason=f"created for {purpose}",
        data={"alias": alias, "backend": backend, "parent": str(parent_id or ""), "ai_category": ai_category},
    )
    if activate:
        _apply(key, S.ACTIVE, actor=actor, reason="activated at creation")
    return key


def _add_version(key: ManagedKey, version: int) -> KeyVersion:
    backend = key_backend(key)
    with backend_errors():
        created = backend.create_version(key_id=key.id, version=version)
    try:
        return KeyVersion.objects.create(
            key=key, version=version, material=created.material, fingerprint=created.fingerprint
        )
    except Exception:
        with backend_errors():
            backend.destroy(version_ref(KeyVersion(key=key, version=version, material=created.material)))
        raise


@transaction.atomic
def key_rotate(*, key_id: UUID, actor: Actor, reason: str) -> KeyVersion:
    """A new version for new encryptions; old versions keep decrypting (self-describing ciphertext)."""
    (key,) = _locked([key_id])
    if key.key_state is not S.ACTIVE:
        raise IllegalTransition(f"only an active key can be rotated; this one is {key.key_state.label}")
    key.current_version += 1
    version = _add_version(key, key.current_version)
    key.save(update_fields=["current_version"])
    audit_record(
        action="key.rotated",
        actor=actor,
        subject_type="key",
        subject_id=key.id,
        reason=_require_reason(reason),
        data={"version": key.current_version},
    )
    return version


# --- simple transitions ------------------------------------------------------------------------
@transaction.atomic
def key_activate(*, key_id: UUID, actor: Actor, reason: str) -> ManagedKey:
    (key,) = _locked([key_id])
    _apply(key, S.ACTIVE, actor=actor, reason=_require_reason(reason))
    return key


@transaction.atomic
def key_deactivate(*, key_id: UUID, actor: Actor, reason: str) -> ManagedKey:
    """Planned retirement: decrypt-only from now on (existing data stays readable)."""
    (key,) = _locked([key_id])
    _apply(key, S.DEACTIVATED, actor=actor, reason=_require_reason(reason))
    return key


# --- containment -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SuspendResult:
    suspended: list[UUID]
    already_restricted: list[UUID]
    blast_radius: BlastRadius | None
    keys: list[ManagedKey] = field(repr=False)


@transaction.atomic(savepoint=False)
def key_suspend(
    *,
    key_ids: Sequence[UUID],
    actor: Actor,
    reason: str,
    incident: str = "",
    cascade: bool = True,
    with_blast_radius: bool = True,
) -> SuspendResult:
    """Containment, fail-safe and immediate: the keys (and every key they wrapped) stop encrypting
    when the caller's transaction commits. Keys already suspended, compromised or destroyed stay as
    they are. Call it inside the transaction that records the signal.

    Written in bulk (one update, one batch of chained audit events), so that a KEK with ten thousand
    wrapped keys is contained in one short transaction."""
    reason = _require_reason(reason)
    roots = list(dict.fromkeys(key_ids))
    all_ids = roots + [i for i in key_descendant_ids(roots) if i not in set(roots)] if cascade else roots
    keys = _locked(all_ids)
    suspendable = [key for key in keys if key.key_state in SUSPENDABLE]
    already = [key.id for key in keys if key.key_state not in SUSPENDABLE]
    now = timezone.now()
    if suspendable:
        ManagedKey.objects.filter(id__in=[key.id for key in suspendable]).update(
            state=S.SUSPENDED.value, suspended_at=now, state_changed_at=now
        )
        root_set = set(roots)
        cascade_note = [str(r) for r in roots]
        audit_record_many(
            actor=actor,
            drafts=[
                EventDraft(
                    action=f"key.{S.SUSPENDED.value}",
                    subject_type="key",
                    subject_id=key.id,
                    reason=reason,
                    incident=incident,
                    data={"from": key.state, "to": S.SUSPENDED.value, "alias": key.alias}
                    | ({} if key.id in root_set else {"cascade_from": cascade_note}),
                )
                for key in suspendable
            ],
        )
        for key in suspendable:
            key.state, key.suspended_at, key.state_changed_at = S.SUSPENDED.value, now, now
    return SuspendResult(
        suspended=[key.id for key in suspendable],
        already_restricted=already,
        blast_radius=key_blast_radius(roots) if with_blast_radius else None,
        keys=keys,
    )


@transaction.atomic
def key_compromise(
    *,
    key_id: UUID,
    actor: Actor,
    reason: str,
    incident: str = "",
    occurred_at: datetime | None = None,
    discovered_at: datetime | None = None,
    cascade: bool = True,
) -> list[ManagedKey]:
    """Confirmed compromise: the key and every key it wrapped (tainted) become compromised."""
    reason = _require_reason(reason)
    ids = [key_id, *key_descendant_ids([key_id])] if cascade else [key_id]
    keys = _locked(ids)
    changed = []
    for key in keys:
        if key.key_state in {S.COMPROMISED, S.DESTROYED_COMPROMISED}:
            continue
        key.compromise_occurred_at = occurred_at or key.compromise_occurred_at
        key.compromise_discovered_at = discovered_at or key.compromise_discovered_at
        note = {} if key.id == key_id else {"tainted_by": str(key_id)}
        target = S.DESTROYED_COMPROMISED if key.key_state is S.DESTROYED else S.COMPROMISED
        _apply(key, target, actor=actor, reason=reason, incident=incident, data=note)
        changed.append(key)
    return changed


@transaction.atomic
def key_restore(*, key_id: UUID, actor: Actor, reason: str, incident: str = "") -> ManagedKey:
    """A false positive: suspended back to active (the dangerous direction; approvals put a quorum here)."""
    (key,) = _locked([key_id])
    _apply(key, S.ACTIVE, actor=actor, reason=_require_reason(reason), incident=incident)
    backend = key_backend(key)
    for version in key.versions.filter(destroyed_at__isnull=True):
        with backend_errors():
            material = backend.allow_encrypt(version_ref(version))
        if material != bytes(version.material):
            version_material_set(version, material)
    key.restricted_at = None
    key.save(update_fields=["restricted_at"])
    return key


@transaction.atomic
def key_destroy(*, key_id: UUID, actor: Actor, reason: str, incident: str = "") -> ManagedKey:
    """Destroy the material (metadata kept). Refused while a legal hold exists."""
    (key,) = _locked([key_id])
    if key.legal_hold:
        raise LegalHoldActive(f"key {key.id} is under legal hold and cannot be destroyed")
    target = S.DESTROYED_COMPROMISED if key.key_state is S.COMPROMISED else S.DESTROYED
    _apply(key, target, actor=actor, reason=_require_reason(reason), incident=incident)
    backend = key_backend(key)
    for version in key.versions.filter(destroyed_at__isnull=True):
        with backend_errors():
            backend.destroy(version_ref(version))
        version_material_set(version, b"", destroyed=True)
    return key


@transaction.atomic
def key_replace(*, key_id: UUID, actor: Actor, reason: str, incident: str = "") -> ManagedKey:
    """A fresh key for the same alias and purpose; the old one points at it (alias resolution, rewrap)."""
    (old,) = _locked([key_id])
    if old.replaced_by_id is not None:
        return ManagedKey.objects.get(id=old.replaced_by_id)
    if old.key_state is S.ACTIVE:
        raise IllegalTransition("suspend, deactivate or compromise a key before replacing it")
    replacement = key_create(
        actor=actor,
        alias=old.alias,
        purpose=old.purpose,
        backend=old.backend,
        ai_category=old.ai_category,
        parent_id=old.parent_id,
        custodian=old.custodian,
        data_asset_ids=list(old.data_assets.values_list("id", flat=True)),
        system_ids=list(old.systems.values_list("id", flat=True)),
    )
    old.replaced_by = replacement
    old.save(update_fields=["replaced_by"])
    audit_record(
        action="key.replaced",
        actor=actor,
        subject_type="key",
        subject_id=old.id,
        reason=_require_reason(reason),
        incident=incident,
        data={"replacement": str(replacement.id)},
    )
    return replacement
