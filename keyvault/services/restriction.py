"""Decrypt-only on the backend itself, verified after applying, re-verified periodically (drift).

The lifecycle service owes a restriction whenever a key enters a restricted state (``restricted_at`` is
then empty) and calls ``restrictions_apply`` after its transaction commits: containment never waits for,
nor depends on, a backend (the gate refuses at once from the database). What cannot be applied and
verified at once is retried by the ``keyvault.restrict_keys`` task, with backoff, and in the end by the
periodic check (``restrictions_verify_all``), which applies every restriction still owed.

Keys that live in a key manager are restricted there by their connector, in one batch per manager (one
policy edit for a thousand keys), all of them at once after the commit; while the manager cannot be
reached (or refuses) the key is "pending on the manager" (``restriction_pending`` says why). A drift
sends ``restriction_drift``, on which the incidents app opens or extends an incident.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from uuid import UUID

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.dispatch import Signal
from django.utils import timezone

from audit.actors import Actor
from audit.services import EventDraft, audit_record, audit_record_many
from keyvault.backends.base import KeyBackend, KeyRestriction, Restriction, VersionRef
from keyvault.errors import BackendUnavailable, IllegalTransition, KeyNotFound
from keyvault.models import KeyVersion, ManagedKey
from keyvault.services.versions import backend_errors, key_backend, version_material_set
from keyvault.set_filters import AnyOf
from keyvault.states import RESTRICTED, KeyState
from webapp.errors import DomainError

log = structlog.get_logger(__name__)

# Sent (sender=ManagedKey) when the drift check finds a decrypt-only key able to encrypt again on its
# backend: ``key_id``, ``backend``, ``versions``, ``repaired``. Incidents opens or extends an incident.
restriction_drift = Signal()

VERIFIED_ON_MANAGER = "decrypt-only on the manager: verified"


class RestrictionNotVerified(IllegalTransition):
    code = "restriction_not_verified"
    http_status = 502


@dataclass(frozen=True, slots=True)
class VersionCheck:
    version: int
    decrypt_only: bool
    detail: str


@dataclass(frozen=True, slots=True)
class RestrictionReport:
    key_id: str
    backend: str
    versions: list[VersionCheck]

    @property
    def verified(self) -> bool:
        return all(check.decrypt_only for check in self.versions)


def key_plan(key: ManagedKey) -> tuple[list[KeyVersion], KeyRestriction]:
    """The key's live versions and what its state asks of the backend."""
    return key_plans([key])[0]


def key_plans(keys: Sequence[ManagedKey]) -> list[tuple[list[KeyVersion], KeyRestriction]]:
    """``key_plan`` for many keys with one query for their versions."""
    by_key: dict[UUID, list[KeyVersion]] = {key.id: [] for key in keys}
    for version in KeyVersion.objects.filter(key_id__in=list(by_key), destroyed_at__isnull=True).order_by("version"):
        by_key[version.key_id].append(version)
    return [(by_key[key.id], _plan(key, by_key[key.id], [bytes(v.material) for v in by_key[key.id]])) for key in keys]


def _plan(key: ManagedKey, versions: list[KeyVersion], materials: list[bytes]) -> KeyRestriction:
    return KeyRestriction(
        key_id=key.id,
        versions=[VersionRef(key.id, v.version, m) for v, m in zip(versions, materials, strict=True)],
        compromised=key.key_state in (KeyState.COMPROMISED, KeyState.DESTROYED_COMPROMISED),
        compromise_occurred_at=key.compromise_occurred_at,
    )


def _report(key: ManagedKey, versions: list[KeyVersion], restrictions: Sequence[Restriction]) -> RestrictionReport:
    checks = [
        VersionCheck(version.version, r.decrypt_only, r.detail)
        for version, r in zip(versions, restrictions, strict=True)
    ]
    return RestrictionReport(key_id=str(key.id), backend=_backend_label(key), versions=checks)


def _backend_label(key: ManagedKey) -> str:
    return f"manager:{key.manager.name}" if key.manager_id is not None and key.manager else key.backend


def _read_back(key: ManagedKey) -> RestrictionReport:
    """What the backend says of each live version, now (no database lock held)."""
    backend = key_backend(key)
    versions, plan = key_plan(key)
    with backend_errors():
        (restrictions,) = backend.verify_keys([plan])
    return _report(key, versions, restrictions)


def _apply_unlocked(
    backend: KeyBackend, keys: Sequence[ManagedKey]
) -> list[tuple[list[KeyVersion], list[bytes], RestrictionReport, KeyRestriction]]:
    """Restrict and read back (the backend called with no database lock held): per key, its versions,
    their (possibly new) materials, the report, and the plan to undo it with."""
    plans = key_plans(keys)
    with backend_errors():
        materials = backend.restrict_keys([plan for _, plan in plans])
    applied = [_plan(key, versions, stored) for key, (versions, _), stored in zip(keys, plans, materials, strict=True)]
    with backend_errors():
        checks = backend.verify_keys(applied)
    return [
        (versions, stored, _report(key, versions, restrictions), plan)
        for key, (versions, _), stored, restrictions, plan in zip(keys, plans, materials, checks, applied, strict=True)
    ]


def _store_materials(versions: list[KeyVersion], materials: list[bytes]) -> None:
    for version, material in zip(versions, materials, strict=True):
        if material != bytes(version.material):
            version_material_set(version, material)


# Why a restriction is applied, as its ``key.restricted`` event says: owed by a state change (the
# first restriction in that state), or re-applied because the drift check found the backend undone.
CAUSE_OWED = "owed"
CAUSE_DRIFT = "drift"


def _restricted_reason(key: ManagedKey, cause: str) -> str:
    if cause == CAUSE_DRIFT:
        where = "on the manager" if key.manager_id else "on the backend"
        return f"decrypt-only re-applied {where} after drift, and verified"
    if key.manager_id:
        return VERIFIED_ON_MANAGER
    return f"decrypt-only applied on the backend and verified (owed since the key became {key.key_state.label})"


def key_restrict(*, key_id: UUID, actor: Actor, incident: str = "", cause: str = CAUSE_OWED) -> RestrictionReport:
    """Apply decrypt-only on the backend for a suspended, deactivated or compromised key, and prove it.
    ``cause`` says why (``CAUSE_OWED``: a state change owes it; ``CAUSE_DRIFT``: the drift check found
    it undone): the audit event says which, so a first restriction never reads as a drift repair.

    The backend is called with no database lock held (a slow HSM or key manager must not hold the key's
    row, which every encrypt checks); the result is then recorded under the key's lock, if the key is
    still restricted — a key restored meanwhile gets its backend permission back."""
    key = ManagedKey.objects.select_related("manager").filter(id=key_id).first()
    if key is None:
        raise KeyNotFound(f"no key with id {key_id}")
    if key.key_state not in RESTRICTED:
        raise IllegalTransition(f"only suspended, deactivated or compromised keys are restricted, not {key.state}")
    backend = key_backend(key)
    ((versions, materials, report, plan),) = _apply_unlocked(backend, [key])
    with transaction.atomic():
        key = ManagedKey.objects.select_for_update(of=("self",)).select_related("manager").get(id=key_id)
        if key.key_state not in RESTRICTED:  # restored while the backend was called: undo, then say so
            with backend_errors():
                backend.allow_keys([plan])
            raise IllegalTransition(f"key {key.id} was {key.key_state.label} again before its restriction landed")
        _store_materials(versions, materials)
        if not report.verified:
            raise RestrictionNotVerified(f"the {report.backend} backend still allows encryption with key {key.id}")
        key.restricted_at = timezone.now()
        key.restriction_pending = ""
        key.save(update_fields=["restricted_at", "restriction_pending"])
        audit_record(
            action="key.restricted",
            actor=actor,
            subject_type="key",
            subject_id=key.id,
            reason=_restricted_reason(key, cause),
            incident=incident,
            data={"backend": report.backend, "cause": cause, "versions": [_check(c) for c in report.versions]},
        )
    return report


def key_restriction_confirm(*, key_id: UUID, actor: Actor, incident: str = "") -> RestrictionReport:
    """The playbook's "decrypt-only, verified on the backend" step: read the restriction the lifecycle
    applied back from the backend; apply it only if it is still owed or has drifted. Raises
    ``BackendUnavailable`` while the backend cannot answer (the step is retried, then escalated)."""
    key = ManagedKey.objects.filter(id=key_id).first()
    if key is None:
        raise KeyNotFound(f"no key with id {key_id}")
    if key.key_state in RESTRICTED and key.restricted_at is not None:
        report = _read_back(key)
        if report.verified:
            return report
    return key_restrict(key_id=key_id, actor=actor, incident=incident)


@dataclass(frozen=True, slots=True)
class ApplyOutcome:
    verified: list[UUID]
    pending: list[UUID]  # still owed: retried by the restrict_keys task, then by the periodic check


# Keys named in a ``key.restriction_pending`` event (the rest are counted): the trail stays bounded.
_PENDING_LISTED = 50
# Keys per queued retry task.
_RETRY_CHUNK = 200


def restrictions_apply(
    *,
    key_ids: Sequence[UUID],
    actor: Actor,
    incident: str = "",
    inline_limit: int | None = None,
    retry: bool = True,
) -> ApplyOutcome:
    """Apply and verify the restriction a state change made owed, for up to ``inline_limit`` keys now
    (default ``SEQUESTER_RESTRICT_INLINE_KEYS``); the rest, and those whose backend did not answer or
    did not verify, are queued for the retrying task (``retry=False``: the caller is that task). Never
    raises: the state change has committed already, and the gate enforces it whatever the backend does.
    A key no longer restricted (restored meanwhile) or no longer owing a restriction is skipped."""
    limit = settings.SEQUESTER_RESTRICT_INLINE_KEYS if inline_limit is None else inline_limit
    ids = list(dict.fromkeys(key_ids))
    verified: list[UUID] = []
    pending: list[UUID] = []
    unreachable: set[str] = set()
    failures: list[dict[str, str]] = []
    rows = ManagedKey.objects.filter(
        AnyOf(F("id"), ids), state__in=[s.value for s in RESTRICTED], restricted_at__isnull=True
    ).values_list("id", "backend", "manager_id")
    owed = {key_id: backend for key_id, backend, manager_id in rows if manager_id is None}
    managed = {key_id for key_id, _, manager_id in rows if manager_id is not None}
    on_managers = [key_id for key_id in ids if key_id in managed]
    if on_managers:
        # One batch per key manager, whatever their number: a single policy edit for a thousand keys.
        try:
            for outcome in keys_restrict_on_managers(key_ids=on_managers, actor=actor, incident=incident):
                (verified if outcome.verified else pending).append(UUID(outcome.key_id))
        except Exception:
            log.exception("key.restriction_on_managers_failed", keys=len(on_managers))
            pending.extend(on_managers)
            ManagedKey.objects.filter(id__in=on_managers).update(restriction_pending="failed unexpectedly; retried")
    for position, key_id in enumerate(key_id for key_id in ids if key_id in owed):
        backend = owed.get(key_id)
        if backend is None:
            continue
        if position >= limit or backend in unreachable:
            pending.append(key_id)
            continue
        try:
            report = key_restrict(key_id=key_id, actor=actor, incident=incident)
        except RestrictionNotVerified as exc:
            pending.append(key_id)
            failures.append({"key": str(key_id), "code": exc.code, "detail": exc.message})
            continue
        except (IllegalTransition, KeyNotFound):
            continue  # restored, destroyed or gone meanwhile: nothing owed any more
        except BackendUnavailable as exc:
            unreachable.add(backend)  # do not wait on a dead backend once per key
            pending.append(key_id)
            failures.append({"key": str(key_id), "code": exc.code, "detail": exc.message})
        except Exception as exc:  # noqa: BLE001 - after commit, nothing may escape; the retry owns it
            pending.append(key_id)
            failures.append({"key": str(key_id), "code": getattr(exc, "code", type(exc).__name__), "detail": str(exc)})
        else:
            (verified if report.verified else pending).append(key_id)
    if failures:
        _record_pending(failures, pending, actor=actor, incident=incident)
    if pending and retry:
        restrictions_retry_later(key_ids=pending, actor=actor, incident=incident, attempt=0)
    return ApplyOutcome(verified=verified, pending=pending)


def _record_pending(failures: list[dict[str, str]], pending: list[UUID], *, actor: Actor, incident: str) -> None:
    log.error("key.restriction_pending", failures=failures[:_PENDING_LISTED], pending=len(pending))
    try:
        audit_record(
            action="key.restriction_pending",
            actor=actor,
            subject_type="key",
            subject_id=failures[0]["key"],
            reason="the backend did not apply or verify decrypt-only yet; the gate refuses meanwhile; retried",
            incident=incident,
            data={"failures": failures[:_PENDING_LISTED], "pending": len(pending)},
        )
    except Exception:
        log.exception("key.restriction_pending_not_recorded")


def restrictions_retry_later(*, key_ids: Sequence[UUID], actor: Actor, incident: str, attempt: int) -> None:
    """Queue the retrying task (in chunks). A broker that is down is not waited for: the periodic check
    applies whatever is still owed."""
    from keyvault.tasks import restrict_keys

    ids = [str(key_id) for key_id in key_ids]
    chunk = _RETRY_CHUNK
    countdown = min(settings.SEQUESTER_RESTRICTION_CHECK_SECONDS, 5 * 3**attempt)
    for start in range(0, len(ids), chunk):
        try:
            restrict_keys.apply_async(
                args=(ids[start : start + chunk], actor.name, actor.type, incident, attempt),
                countdown=countdown if attempt else 0,
                retry=False,
            )
        except Exception:
            log.warning("key.restriction_retry_not_queued", keys=len(ids) - start, exc_info=True)
            return


def _check(check: VersionCheck) -> dict[str, object]:
    return {"version": check.version, "decrypt_only": check.decrypt_only, "detail": check.detail}


@dataclass(frozen=True, slots=True)
class DriftFinding:
    key_id: str
    backend: str
    versions: list[dict[str, object]]
    repaired: bool


def restrictions_verify_all(*, actor: Actor) -> list[DriftFinding]:
    """Re-verify every key that must be decrypt-only; on drift, raise an audit event, an alert and an
    incident (``restriction_drift``), then re-apply the restriction. Keys whose restriction is still
    owed (never applied, pending on a key manager, or lost with a crash between a state change and its
    restriction) get it now."""
    findings: list[DriftFinding] = []
    restricted_states = [state.value for state in RESTRICTED]
    for key_id in ManagedKey.objects.filter(state__in=restricted_states).values_list("id", flat=True):
        try:
            findings.extend(_verify_one(key_id, actor))
        except DomainError as exc:
            # The backend cannot even answer for this key: that is an alert too, and the check goes on.
            log.error("key.restriction_check_failed", key=str(key_id), error=exc.message)
            audit_record(
                action="key.restriction_check_failed",
                actor=actor,
                subject_type="key",
                subject_id=key_id,
                reason=exc.message,
                data={"code": exc.code},
            )
            ManagedKey.objects.filter(id=key_id, manager__isnull=False, restricted_at__isnull=True).update(
                restriction_pending=_pending_note(exc)
            )
            findings.append(DriftFinding(str(key_id), "", [{"error": exc.code}], repaired=False))
    return findings


def _verify_one(key_id: UUID, actor: Actor) -> list[DriftFinding]:
    """Read the restriction back (no lock held); on drift, alert and re-apply; apply it if still owed."""
    key = ManagedKey.objects.select_related("manager").filter(id=key_id).first()
    if key is None or key.key_state not in RESTRICTED:
        return []
    label = _backend_label(key)
    applied = key.restricted_at is not None  # else owed: applied now, which is no drift
    drifted = [
        {"version": check.version, "detail": check.detail}
        for check in _read_back(key).versions
        if not check.decrypt_only
    ]
    if applied and not drifted:
        return []
    if applied:
        log.error("key.restriction_drift", key=str(key.id), backend=label, versions=drifted)
        audit_record(
            action="key.restriction_drift",
            actor=actor,
            subject_type="key",
            subject_id=key.id,
            reason="the backend allowed encryption again with a key that must be decrypt-only",
            data={"backend": label, "state": key.state, "versions": drifted},
        )
    try:
        repaired = key_restrict(key_id=key.id, actor=actor, cause=CAUSE_DRIFT if applied else CAUSE_OWED).verified
    except RestrictionNotVerified as exc:
        repaired = False
        ManagedKey.objects.filter(id=key.id).update(  # owed again: the next check retries
            restricted_at=None, restriction_pending=exc.message[:300]
        )
        audit_record(
            action="key.restriction_pending",
            actor=actor,
            subject_type="key",
            subject_id=key.id,
            reason=exc.message,
            data={"backend": label, "versions": drifted},
        )
    except IllegalTransition:
        return []  # restored or destroyed meanwhile
    if not applied:
        return []
    restriction_drift.send(sender=ManagedKey, key_id=key.id, backend=label, versions=drifted, repaired=repaired)
    return [DriftFinding(str(key.id), label, drifted, repaired=repaired)]


# --- keys in key managers: after the suspension commits, in batches, retried until verified ---------
@dataclass(frozen=True, slots=True)
class ManagerOutcome:
    key_id: str
    verified: bool
    pending: str  # why not verified ("" when verified)


def _pending_note(exc: DomainError) -> str:
    return f"{exc.code}: {exc.message}"[:300]


def keys_restrict_on_managers(*, key_ids: Sequence[UUID], actor: Actor, incident: str = "") -> list[ManagerOutcome]:
    """Apply and verify decrypt-only on the key managers of ``key_ids`` (keys elsewhere are skipped),
    one batch per manager. A manager that fails leaves its keys pending, with the reason, for a retry."""
    candidates = (
        ManagedKey.objects.filter(id__in=list(key_ids), manager__isnull=False, state__in=[s.value for s in RESTRICTED])
        .order_by("manager_id", "id")
        .values_list("manager_id", "id")
    )
    outcomes: list[ManagerOutcome] = []
    for _, group in groupby(candidates, key=lambda row: row[0]):
        outcomes.extend(_restrict_batch([key_id for _, key_id in group], actor=actor, incident=incident))
    return outcomes


def _restrict_batch(key_ids: list[UUID], *, actor: Actor, incident: str) -> list[ManagerOutcome]:
    """One manager, one call for all ``key_ids`` with no database lock held (as ``key_restrict``); the
    outcome is then recorded under the keys' locks, and a key restored meanwhile gets its permission back."""
    keys = [
        key
        for key in ManagedKey.objects.select_related("manager").filter(id__in=key_ids).order_by("id")
        if key.key_state in RESTRICTED
    ]
    if not keys:
        return []
    try:
        backend = key_backend(keys[0])
        results = _apply_unlocked(backend, keys)
    except DomainError as exc:
        note = _pending_note(exc)
        log.warning("key.restriction_pending", keys=len(keys), manager=keys[0].manager_id, error=note)
        ManagedKey.objects.filter(id__in=[k.id for k in keys]).update(restriction_pending=note)
        audit_record_many(
            actor=actor,
            drafts=[
                EventDraft(
                    action="key.restriction_pending",
                    subject_type="key",
                    subject_id=key.id,
                    reason=f"pending on the manager: {note}",
                    incident=incident,
                    data={"backend": _backend_label(key), "code": exc.code},
                )
                for key in keys
            ],
        )
        return [ManagerOutcome(str(key.id), False, note) for key in keys]
    with transaction.atomic():
        # In the lifecycle's id order, as every writer locks.
        still = {
            key.id: key
            for key in ManagedKey.objects.select_for_update(of=("self",))
            .filter(id__in=[k.id for k in keys])
            .order_by("id")
            if key.key_state in RESTRICTED
        }
        restored = [plan for key, (_, _, _, plan) in zip(keys, results, strict=True) if key.id not in still]
        if restored:
            with backend_errors():
                backend.allow_keys(restored)
        now = timezone.now()
        outcomes, drafts, verified_ids = [], [], []
        for key, (versions, materials, report, _) in zip(keys, results, strict=True):
            if key.id not in still:
                continue  # restored (or destroyed) meanwhile: nothing owed any more
            _store_materials(versions, materials)
            if report.verified:
                verified_ids.append(key.id)
                outcomes.append(ManagerOutcome(str(key.id), True, ""))
            else:
                failed = "; ".join(c.detail for c in report.versions if not c.decrypt_only)
                note = f"applied but not verified: {failed}"[:300]
                ManagedKey.objects.filter(id=key.id).update(restriction_pending=note)
                outcomes.append(ManagerOutcome(str(key.id), False, note))
            drafts.append(
                EventDraft(
                    action="key.restricted" if report.verified else "key.restriction_pending",
                    subject_type="key",
                    subject_id=key.id,
                    reason=_restricted_reason(key, CAUSE_OWED)
                    if report.verified
                    else f"pending on the manager: {outcomes[-1].pending}",
                    incident=incident,
                    data={
                        "backend": report.backend,
                        "cause": CAUSE_OWED,
                        "versions": [_check(c) for c in report.versions],
                    },
                )
            )
        ManagedKey.objects.filter(id__in=verified_ids).update(restricted_at=now, restriction_pending="")
        audit_record_many(actor=actor, drafts=drafts)
    return outcomes
