"""The key state machine: every transition validated, dated, attributed and audited, here and only here.

A transition into a restricted state (suspended, deactivated, compromised) also owes the decrypt-only
restriction on the key's backend: the service applies it itself once its transaction commits
(``_restriction_owed``), whoever called it — a signal, the API, an approval or the playbook.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from audit.actors import Actor
from audit.services import EventDraft, audit_record, audit_record_many
from keyvault.backends import BackendNotConfigured, backend_for
from keyvault.backends.managers import ManagerConnector
from keyvault.errors import (
    IllegalTransition,
    InvalidKeyRequest,
    KeyNotFound,
    KeyQuarantined,
    LegalHoldActive,
    RestoreNotApproved,
    RewrapIncomplete,
)
from keyvault.models import (
    USAGE_SHARDS,
    AiDataCategory,
    DataAsset,
    KeyUsage,
    KeyVersion,
    ManagedKey,
    System,
    WrappedItem,
)
from keyvault.policy import SYSTEM, Caller, Verdict, hidden, manage_verdict
from keyvault.services.blast_radius import BlastRadius, key_blast_radius, key_descendant_ids
from keyvault.services.restriction import key_plan, restrictions_apply
from keyvault.services.versions import backend_errors, key_backend, version_material_set, version_ref
from keyvault.set_filters import AnyOf
from keyvault.states import (
    DESTROYED_STATES,
    QUARANTINED,
    RESTRICTED,
    SUSPENDABLE,
    TRANSITIONS,
    KeyState,
    transition_allowed,
)

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


def _locked_tree(roots: list[UUID], *, cascade: bool) -> tuple[list[UUID], list[ManagedKey]]:
    """Lock ``roots`` and (with ``cascade``) every key below them. A key created under one of them
    while this waited for the locks is found and locked too: its creator held the parent's lock, so it
    has committed by now, and any creator coming after sees the new state (``key_create`` locks the
    parent and refuses a quarantined one)."""
    all_ids = roots + [i for i in key_descendant_ids(roots) if i not in set(roots)] if cascade else roots
    keys = _locked(all_ids)
    while cascade:
        known = {str(i) for i in all_ids}
        late = [i for i in key_descendant_ids(roots) if str(i) not in known]
        if not late:
            break
        all_ids = all_ids + late
        keys = sorted([*keys, *_locked(late)], key=lambda k: k.id)
    return all_ids, keys


def _apply(
    key: ManagedKey,
    target: KeyState,
    *,
    operation: str,
    actor: Actor,
    reason: str,
    incident: str = "",
    at: datetime | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    source = key.key_state
    if not transition_allowed(source, target, operation):
        legal = TRANSITIONS.get((source, target))
        raise IllegalTransition(
            f"key {key.id} cannot go from {source.label} to {target.label}"
            + (f" by {operation}: only by {legal}" if legal else ""),
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
    if target in RESTRICTED:
        key.restricted_at = None  # owed for this state: see _restriction_owed
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


def _restriction_owed(key_ids: Sequence[UUID], *, actor: Actor, incident: str = "") -> None:
    """Decrypt-only on the backend, owed by a transition into a restricted state, applied and verified
    once the caller's transaction commits. Not before: containment is the committed state, which the
    gate enforces at once, and it must neither wait for a backend nor roll back when one is down. What
    is not verified at once is retried (``restrictions_apply``); a crash in between leaves
    ``restricted_at`` empty, which the periodic check treats as owed."""
    ids = list(dict.fromkeys(key_ids))
    if ids:
        transaction.on_commit(lambda: _apply_owed(ids, actor, incident), robust=True)


def _apply_owed(key_ids: list[UUID], actor: Actor, incident: str) -> None:
    restrictions_apply(key_ids=key_ids, actor=actor, incident=incident)


def _visible(key: ManagedKey, caller: Caller) -> ManagedKey:
    """Segregation: a quarantined key does not exist for a caller outside incident response."""
    if hidden(caller, key.key_state):
        raise KeyNotFound(f"no key with id {key.id}")
    return key


def _manageable(key: ManagedKey, caller: Caller, what: str, *, role: str = "") -> ManagedKey:
    """Rotation, wrapped items, use as a parent: never with a quarantined key."""
    verdict = manage_verdict(caller, key.key_state)
    if verdict is Verdict.NOT_FOUND:  # worded as for a key that does not exist
        raise KeyNotFound(f"no {role}key with id {key.id}")
    if verdict is Verdict.NOT_USABLE:
        raise KeyQuarantined(
            f"key {key.id} is {key.key_state.label}: {what} is refused until the incident decides its fate",
            key=str(key.id),
            state=key.state,
        )
    return key


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
    caller: Caller = SYSTEM,
    exercise: bool = False,
    incident: str = "",
) -> ManagedKey:
    """A new key (active unless ``activate=False``), wrapped by ``parent_id`` when given: never by a
    suspended or compromised key (409 ``key_quarantined``; 404 for callers outside incident response).
    ``exercise``: a canary key made for a drill; it never wraps or is wrapped by a production key.
    ``incident``: the incident it is made for (a replacement): its creation events then belong to that
    incident's record, in full."""
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
        # Locked: a parent being suspended now cannot wrap a key created meanwhile (see _locked_tree).
        parent = ManagedKey.objects.select_for_update().filter(id=parent_id).first()
        if parent is None:
            raise KeyNotFound(f"no parent key with id {parent_id}")
        if parent.key_state in DESTROYED_STATES:
            raise InvalidKeyRequest("a destroyed key cannot be a parent")
        _manageable(parent, caller, "wrapping a new key with it", role="parent ")
        if parent.exercise != exercise:
            raise InvalidKeyRequest("a drill's canary keys and production keys never wrap one another")
    assets = list(DataAsset.objects.filter(id__in=data_asset_ids))
    systems = list(System.objects.filter(id__in=system_ids))
    if len(assets) != len(set(data_asset_ids)) or len(systems) != len(set(system_ids)):
        raise InvalidKeyRequest("unknown data asset or system id")

    key = ManagedKey.objects.create(
        alias=alias,
        purpose=purpose,
        backend=backend,
        ai_category=ai_category,
        parent=parent,
        custodian=custodian,
        exercise=exercise,
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
        incident=incident,
        data={"alias": alias, "backend": backend, "parent": str(parent_id or ""), "ai_category": ai_category}
        | ({"exercise": True} if exercise else {}),
    )
    if activate:
        _apply(key, S.ACTIVE, operation="activate", actor=actor, reason="activated at creation", incident=incident)
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
def key_rotate(*, key_id: UUID, actor: Actor, reason: str, caller: Caller = SYSTEM) -> KeyVersion:
    """A new version for new encryptions; old versions keep decrypting (self-describing ciphertext).
    Never for a quarantined key: a new version would be fresh material under a suspect key."""
    (key,) = _locked([key_id])
    _manageable(key, caller, "rotation")
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
def key_activate(*, key_id: UUID, actor: Actor, reason: str, caller: Caller = SYSTEM) -> ManagedKey:
    """Pre-active to active, and nothing else: a suspended key goes back only through ``key_restore``
    (an approved ``restore_false_positive``), a deactivated or compromised one never."""
    (key,) = _locked([key_id])
    _visible(key, caller)
    _apply(key, S.ACTIVE, operation="activate", actor=actor, reason=_require_reason(reason))
    return key


@transaction.atomic
def key_deactivate(*, key_id: UUID, actor: Actor, reason: str, caller: Caller = SYSTEM) -> ManagedKey:
    """Planned retirement of an active key: decrypt-only from now on (existing data stays readable)."""
    (key,) = _locked([key_id])
    _visible(key, caller)
    _apply(key, S.DEACTIVATED, operation="deactivate", actor=actor, reason=_require_reason(reason))
    _restriction_owed([key.id], actor=actor)
    return key


# --- containment -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SuspendResult:
    suspended: list[UUID]
    already_restricted: list[UUID]
    blast_radius: BlastRadius | None
    key_ids: list[UUID] = field(repr=False)  # every key locked: the named ones and every key they wrapped


@dataclass(frozen=True, slots=True)
class _Row:
    id: UUID
    state: str
    alias: str


def _locked_rows(key_ids: list[UUID]) -> list[_Row]:
    """Lock the keys (in id order, as every writer does) in one statement; their id, state and alias."""
    rows = ManagedKey.objects.select_for_update().filter(AnyOf(F("id"), key_ids)).order_by("id")
    return [_Row(*row) for row in rows.values_list("id", "state", "alias")]


def _locked_tree_rows(roots: list[UUID], *, cascade: bool) -> tuple[list[UUID], list[_Row]]:
    """``_locked_tree`` for a set: one statement per level of the hierarchy (to find the keys below),
    one to lock them all, whatever their number; no model is loaded."""
    all_ids = roots + [i for i in key_descendant_ids(roots) if i not in set(roots)] if cascade else roots
    rows = _locked_rows(all_ids)
    if len(rows) != len(set(all_ids)):
        missing = sorted({str(i) for i in all_ids} - {str(row.id) for row in rows})
        raise KeyNotFound(f"no key with id {', '.join(missing)}")
    while cascade:  # a key created under one of them while this waited for the locks (see _locked_tree)
        late = list(
            ManagedKey.objects.filter(AnyOf(F("parent_id"), all_ids))
            .exclude(AnyOf(F("id"), all_ids))
            .values_list("id", flat=True)
        )
        if not late:
            break
        late += [i for i in key_descendant_ids(late) if i not in set(all_ids)]
        all_ids = all_ids + late
        rows = sorted([*rows, *_locked_rows(late)], key=lambda row: row.id)
    return all_ids, rows


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
    they are. Call it inside the transaction that records the signal. The backend restriction follows
    the commit (``_restriction_owed``).

    Set-based, so that a KEK with a hundred thousand wrapped keys is contained in one short
    transaction: one statement per level of the hierarchy to find the keys, one to lock them, one to
    suspend them, one to append their audit events (one event per key, chained as every other)."""
    reason = _require_reason(reason)
    roots = list(dict.fromkeys(UUID(str(key_id)) for key_id in key_ids))
    all_ids, rows = _locked_tree_rows(roots, cascade=cascade)
    suspendable = {state.value for state in SUSPENDABLE}
    changed = [row for row in rows if row.state in suspendable]
    if changed:
        now = timezone.now()
        ManagedKey.objects.filter(AnyOf(F("id"), [row.id for row in changed])).update(
            state=S.SUSPENDED.value, suspended_at=now, state_changed_at=now, restricted_at=None
        )
        root_set = set(roots)
        cascade_note = {"cascade_from": [str(r) for r in roots]}
        audit_record_many(
            actor=actor,
            drafts=[
                EventDraft(
                    action=f"key.{S.SUSPENDED.value}",
                    subject_type="key",
                    subject_id=row.id,
                    reason=reason,
                    incident=incident,
                    data={"from": row.state, "to": S.SUSPENDED.value, "alias": row.alias}
                    | ({} if row.id in root_set else cascade_note),
                )
                for row in changed
            ],
        )
        order = {str(key_id): position for position, key_id in enumerate(all_ids)}  # the named keys first
        _restriction_owed(
            sorted((row.id for row in changed), key=lambda i: order[str(i)]), actor=actor, incident=incident
        )
    return SuspendResult(
        suspended=[row.id for row in changed],
        already_restricted=[row.id for row in rows if row.state not in suspendable],
        blast_radius=key_blast_radius(roots) if with_blast_radius else None,
        key_ids=[row.id for row in rows],
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
    _, keys = _locked_tree([key_id], cascade=cascade)
    changed = []
    for key in keys:
        if key.key_state in {S.COMPROMISED, S.DESTROYED_COMPROMISED}:
            continue
        key.compromise_occurred_at = occurred_at or key.compromise_occurred_at
        key.compromise_discovered_at = discovered_at or key.compromise_discovered_at
        note = {} if key.id == key_id else {"tainted_by": str(key_id)}
        target = S.DESTROYED_COMPROMISED if key.key_state is S.DESTROYED else S.COMPROMISED
        _apply(key, target, operation="compromise", actor=actor, reason=reason, incident=incident, data=note)
        changed.append(key)
    # The named key first: with a large cascade it is the one restricted before the rest are queued.
    _restriction_owed(
        sorted((k.id for k in changed if k.key_state in RESTRICTED), key=lambda i: str(i) != str(key_id)),
        actor=actor,
        incident=incident,
    )
    return changed


# Answers whether an approval request (by id) is an approved restore_false_positive naming the key.
# Registered by the approvals app (the lower app never imports the upper one); none registered: no
# restore at all.
RestoreAuthority = Callable[[str, UUID], bool]
_restore_authority: list[RestoreAuthority] = []


def key_restore_authority_register(authority: RestoreAuthority) -> None:
    _restore_authority[:] = [authority]


@transaction.atomic
def key_restore(*, key_id: UUID, actor: Actor, reason: str, approval: str, incident: str = "") -> ManagedKey:
    """A false positive: suspended back to active, the dangerous direction. Only with ``approval``, the
    id of an approved ``restore_false_positive`` request that names this key: no single person can
    bring a suspended key back to encrypting."""
    (key,) = _locked([key_id])
    if key.key_state is S.SUSPENDED and not (
        approval and _restore_authority and _restore_authority[0](approval, key.id)
    ):
        raise RestoreNotApproved(
            f"key {key.id} goes back to active only with an approved restore_false_positive request naming it",
            key=str(key.id),
        )
    _apply(
        key,
        S.ACTIVE,
        operation="restore",
        actor=actor,
        reason=_require_reason(reason),
        incident=incident,
        data={"approval": approval},
    )
    backend = key_backend(key)
    versions, plan = key_plan(key)
    # A key manager that cannot be reached refuses the restore (it rolls back): never half-restored.
    with backend_errors():
        (materials,) = backend.allow_keys([plan])
    for version, material in zip(versions, materials, strict=True):
        if material != bytes(version.material):
            version_material_set(version, material)
    if isinstance(backend, ManagerConnector) and materials:
        # KMIP has no way back from Deactivated: the key may now live under a new object id.
        key.external_ref = f"{backend.manager_name}:{backend.ident_of(materials[-1])}"
    key.restricted_at = None
    key.restriction_pending = ""
    key.save(update_fields=["restricted_at", "restriction_pending", "external_ref"])
    return key


@transaction.atomic
def key_destroy(*, key_id: UUID, actor: Actor, reason: str, incident: str = "") -> ManagedKey:
    """Destroy the material (metadata kept). Refused while a legal hold exists, and while any wrapped
    item registered under the key has not been rewrapped (it would become unreadable for ever)."""
    (key,) = _locked([key_id])
    key_destruction_check(key)
    target = S.DESTROYED_COMPROMISED if key.key_state is S.COMPROMISED else S.DESTROYED
    _apply(key, target, operation="destroy", actor=actor, reason=_require_reason(reason), incident=incident)
    backend = key_backend(key)
    for version in key.versions.filter(destroyed_at__isnull=True):
        with backend_errors():
            backend.destroy(version_ref(version))
        version_material_set(version, b"", destroyed=True)
    return key


def key_destruction_check(key: ManagedKey) -> None:
    """What stands in the way of destroying ``key`` (approvals ask it before opening a request too)."""
    if key.legal_hold:
        raise LegalHoldActive(f"key {key.id} is under legal hold and cannot be destroyed")
    remaining = WrappedItem.objects.filter(key_id=key.id).count()
    if remaining:
        raise RewrapIncomplete(
            f"key {key.id} still holds {remaining} wrapped item(s) not rewrapped under its replacement: "
            "destroying it would make them unreadable; finish the rewrap first",
            key=str(key.id),
            remaining=remaining,
        )


@transaction.atomic
def key_replace(*, key_id: UUID, actor: Actor, reason: str, incident: str = "") -> ManagedKey:
    """A fresh key for the same alias and purpose; the old one points at it (alias resolution, rewrap).
    The replacement is wrapped by a healthy KEK (``_healthy_parent``), never by a quarantined one."""
    (old,) = _locked([key_id])
    if old.replaced_by_id is not None:
        return ManagedKey.objects.get(id=old.replaced_by_id)
    if old.retired_at is not None:
        raise IllegalTransition(f"key {old.id} was retired without a replacement: {old.retired_reason}")
    if old.key_state is S.ACTIVE:
        raise IllegalTransition("suspend, deactivate or compromise a key before replacing it")
    parent_id = _healthy_parent(old, actor=actor, incident=incident)
    if old.manager_id is not None:
        replacement = _replace_on_manager(old, actor=actor, parent_id=parent_id, incident=incident)
    else:
        replacement = key_create(
            actor=actor,
            alias=old.alias,
            purpose=old.purpose,
            backend=old.backend,
            ai_category=old.ai_category,
            parent_id=parent_id,
            custodian=old.custodian,
            data_asset_ids=list(old.data_assets.values_list("id", flat=True)),
            system_ids=list(old.systems.values_list("id", flat=True)),
            exercise=old.exercise,
            incident=incident,
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
        data={
            "replacement": str(replacement.id),
            "parent": str(old.parent_id or ""),
            "replacement_parent": str(parent_id or ""),
        },
    )
    return replacement


def _replace_on_manager(old: ManagedKey, *, actor: Actor, parent_id: UUID | None, incident: str) -> ManagedKey:
    """The replacement of a key that lives in a key manager is made there by its connector (a new
    version or key; the manager's alias moved to it) and registered here as a new active key."""
    connector = key_backend(old)
    assert isinstance(connector, ManagerConnector)
    latest = old.versions.order_by("-version").first()
    if latest is None:
        raise IllegalTransition(f"key {old.id} has no version to replace")
    replacement = ManagedKey(
        alias=old.alias,
        purpose=old.purpose,
        backend=ManagedKey.Backend.MANAGER,
        manager_id=old.manager_id,
        ai_category=old.ai_category,
        parent_id=parent_id,
        custodian=old.custodian,
        exercise=old.exercise,
    )
    with backend_errors():
        created = connector.successor(version_ref(latest), key_id=replacement.id)
    replacement.external_ref = f"{connector.manager_name}:{connector.ident_of(created.material)}"
    replacement.save()
    replacement.data_assets.set(old.data_assets.all())
    replacement.systems.set(old.systems.all())
    KeyUsage.objects.bulk_create([KeyUsage(key=replacement, shard=shard) for shard in range(USAGE_SHARDS)])
    KeyVersion.objects.create(key=replacement, version=1, material=created.material, fingerprint=created.fingerprint)
    audit_record(
        action="key.created",
        actor=actor,
        subject_type="key",
        subject_id=replacement.id,
        reason=f"replacement of {old.id} made on key manager {connector.manager_name}",
        incident=incident,
        data={"alias": old.alias, "backend_ref": replacement.external_ref, "replaces": str(old.id)},
    )
    _apply(replacement, S.ACTIVE, operation="activate", actor=actor, reason="activated at creation")
    return replacement


_REPLACEMENT_DEPTH = 16  # a KEK replaced, its replacement compromised in turn, ... (never loops)


def _healthy_parent(old: ManagedKey, *, actor: Actor, incident: str) -> UUID | None:
    """The KEK to wrap ``old``'s replacement: its own KEK while that is active; the KEK's replacement
    when the KEK is suspended or compromised (replaced now if it was not yet, so a tainted key's
    replacement lands under the new KEK); else (retired or destroyed) its successor or the active key
    of its alias. Never a quarantined key."""
    if old.parent_id is None:
        return None
    parent = ManagedKey.objects.get(id=old.parent_id)
    for _ in range(_REPLACEMENT_DEPTH):
        state = parent.key_state
        if state is S.ACTIVE:
            return parent.id
        if state in QUARANTINED:
            parent = key_replace(
                key_id=parent.id,
                actor=actor,
                reason=f"replacement KEK for the replacement of {old.alias}",
                incident=incident,
            )
            continue
        successor = ManagedKey.objects.filter(
            Q(id=parent.replaced_by_id) | Q(alias=parent.alias), state=S.ACTIVE.value
        ).first()
        if successor is None:
            break
        parent = successor
    raise IllegalTransition(
        f"key {old.id} was wrapped by {old.parent_id}, which has no healthy successor to wrap its replacement: "
        "activate or replace that KEK first",
        key=str(old.id),
    )


RETIRABLE = frozenset({S.SUSPENDED, S.COMPROMISED, S.DEACTIVATED, S.DESTROYED, S.DESTROYED_COMPROMISED})


@transaction.atomic
def key_retire(*, key_id: UUID, actor: Actor, reason: str, incident: str = "") -> ManagedKey:
    """The other way a compromised key's story ends: retired without a replacement, with the reason
    (the model it served is withdrawn, its data deleted, ...). A retired key is never replaced; asked
    again, this returns the key as it was retired."""
    reason = _require_reason(reason)
    (key,) = _locked([key_id])
    if key.retired_at is not None:
        return key
    if key.replaced_by_id is not None:
        raise IllegalTransition(f"key {key.id} is replaced already: it cannot also be retired without one")
    stranded = WrappedItem.objects.filter(key=key).count()
    if stranded:
        raise IllegalTransition(
            f"{stranded} wrapped item(s) are still under key {key.id}: they need its replacement (rewrap) before it "
            "could be retired without one"
        )
    if key.key_state not in RETIRABLE:
        raise IllegalTransition(
            f"key {key.id} is {key.key_state.label}: only a suspended, compromised, deactivated or destroyed key is "
            "retired without a replacement"
        )
    key.retired_at, key.retired_reason, key.retired_by = timezone.now(), reason, actor.name
    key.save(update_fields=["retired_at", "retired_reason", "retired_by"])
    audit_record(
        action="key.retired",
        actor=actor,
        subject_type="key",
        subject_id=key.id,
        reason=reason,
        incident=incident,
        data={"alias": key.alias, "state": key.state, "replacement": None},
    )
    return key
