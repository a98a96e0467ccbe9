"""Decrypt-only on the backend itself, verified after applying, re-verified periodically (drift).

The lifecycle service owes a restriction whenever a key enters a restricted state (``restricted_at`` is
then empty) and calls ``restrictions_apply`` after its transaction commits: containment never waits for,
nor depends on, a backend (the gate refuses at once from the database). What cannot be applied and
verified at once is retried by the ``keyvault.restrict_keys`` task, with backoff, and in the end by the
periodic check (``restrictions_verify_all``), which applies every restriction still owed.

Keys that live in a key manager are restricted there by their connector, in one batch per manager (one
policy edit for a thousand keys), all of them at once after the commit; while the manager cannot be
reached (or refuses) the key is "pending on the manager" (``restriction_pending`` says why).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from uuid import UUID

import structlog
from django.conf import settings
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from audit.actors import Actor
from audit.services import EventDraft, audit_record, audit_record_many
from keyvault.backends.base import KeyRestriction, Restriction
from keyvault.errors import BackendUnavailable, IllegalTransition, KeyNotFound
from keyvault.models import KeyVersion, ManagedKey
from keyvault.services.versions import backend_errors, key_backend, version_material_set, version_ref
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
    return [
        (
            by_key[key.id],
            KeyRestriction(
                key_id=key.id,
                versions=[version_ref(version) for version in by_key[key.id]],
                compromised=key.key_state in (KeyState.COMPROMISED, KeyState.DESTROYED_COMPROMISED),
                compromise_occurred_at=key.compromise_occurred_at,
            ),
        )
        for key in keys
    ]


def _store_materials(versions: list[KeyVersion], materials: list[bytes]) -> None:
    for version, material in zip(versions, materials, strict=True):
        if material != bytes(version.material):
            version_material_set(version, material)


def _report(key: ManagedKey, versions: list[KeyVersion], restrictions: Sequence[Restriction]) -> RestrictionReport:
    checks = [
        VersionCheck(version.version, r.decrypt_only, r.detail)
        for version, r in zip(versions, restrictions, strict=True)
    ]
    return RestrictionReport(key_id=str(key.id), backend=_backend_label(key), versions=checks)


def _backend_label(key: ManagedKey) -> str:
    return f"manager:{key.manager.name}" if key.manager_id is not None and key.manager else key.backend


def _restrict_and_verify(key: ManagedKey) -> RestrictionReport:
    backend = key_backend(key)
    versions, plan = key_plan(key)
    with backend_errors():
        (materials,) = backend.restrict_keys([plan])
    _store_materials(versions, materials)
    versions, plan = key_plan(key)
    with backend_errors():
        (restrictions,) = backend.verify_keys([plan])
    return _report(key, versions, restrictions)


@transaction.atomic
def key_restrict(*, key_id: UUID, actor: Actor, incident: str = "") -> RestrictionReport:
    """Apply decrypt-only on the backend for a suspended, deactivated or compromised key, and prove it."""
    key = ManagedKey.objects.select_for_update().filter(id=key_id).first()
    if key is None:
        raise KeyNotFound(f"no key with id {key_id}")
    if key.key_state not in RESTRICTED:
        raise IllegalTransition(f"only suspended, deactivated or compromised keys are restricted, not {key.state}")
    report = _restrict_and_verify(key)
    if not report.verified:
        raise RestrictionNotVerified(f"the {key.backend} backend still allows encryption with key {key.id}")
    key.restricted_at = timezone.now()
    key.restriction_pending = ""
    key.save(update_fields=["restricted_at", "restriction_pending"])
    audit_record(
        action="key.restricted",
        actor=actor,
        subject_type="key",
        subject_id=key.id,
        reason=VERIFIED_ON_MANAGER if key.manager_id else "decrypt-only applied on the backend and verified",
        incident=incident,
        data={"backend": report.backend, "versions": [_check(c) for c in report.versions]},
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
        backend = key_backend(key)
        versions, plan = key_plan(key)
        with backend_errors():
            (restrictions,) = backend.verify_keys([plan])
        report = _report(key, versions, restrictions)
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
        id__in=ids, state__in=[s.value for s in RESTRICTED], restricted_at__isnull=True
    ).values_list("id", "backend", "manager_id")
    owed = {key_id: backend for key_id, backend, manager_id in rows if manager_id is None}
    on_managers = [key_id for key_id in ids if key_id in {row[0] for row in rows if row[2] is not None}]
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
    owed (never applied, pending on their key manager, or lost with a crash between a state change and
    its restriction) get it now."""
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


@transaction.atomic
def _verify_one(key_id: UUID, actor: Actor) -> list[DriftFinding]:
    key = ManagedKey.objects.select_for_update(of=("self",)).select_related("manager").get(id=key_id)
    if key.key_state not in RESTRICTED:
        return []
    backend = key_backend(key)
    versions, plan = key_plan(key)
    with backend_errors():
        (restrictions,) = backend.verify_keys([plan])
    drifted = [
        {"version": version.version, "detail": restriction.detail}
        for version, restriction in zip(versions, restrictions, strict=True)
        if not restriction.decrypt_only
    ]
    applied = key.restricted_at is not None  # else owed: applied now, which is no drift
    if not drifted and applied:
        return []
    drifted = drifted if applied else []
    label = _backend_label(key)
    if drifted:
        log.error("key.restriction_drift", key=str(key.id), backend=label, versions=drifted)
        audit_record(
            action="key.restriction_drift",
            actor=actor,
            subject_type="key",
            subject_id=key.id,
            reason="the backend allowed encryption again with a key that must be decrypt-only",
            data={"backend": label, "state": key.state, "versions": drifted},
        )
    report = _restrict_and_verify(key)
    if report.verified:  # else it stays owed, and the next check tries again
        key.restricted_at = timezone.now()
        key.restriction_pending = ""
    else:
        key.restriction_pending = "applied but not verified on the backend"
    key.save(update_fields=["restricted_at", "restriction_pending"])
    audit_record(
        action="key.restricted" if report.verified else "key.restriction_pending",
        actor=actor,
        subject_type="key",
        subject_id=key.id,
        reason=("re-applied after drift" if drifted else "applied by the periodic restriction check")
        + (f": {VERIFIED_ON_MANAGER}" if key.manager_id and report.verified else ""),
        data={"backend": label, "versions": [_check(c) for c in report.versions]},
    )
    if not drifted:
        return []
    finding = DriftFinding(str(key.id), label, drifted, repaired=report.verified)
    transaction.on_commit(
        lambda: restriction_drift.send(
            sender=ManagedKey, key_id=key.id, backend=label, versions=drifted, repaired=finding.repaired
        )
    )
    return [finding]


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


@transaction.atomic
def _restrict_batch(key_ids: list[UUID], *, actor: Actor, incident: str) -> list[ManagerOutcome]:
    # Locked (in the lifecycle's id order) so that a restore cannot interleave with this edit.
    keys = [
        key
        for key in ManagedKey.objects.select_for_update(of=("self",))
        .select_related("manager")
        .filter(id__in=key_ids)
        .order_by("id")
        if key.key_state in RESTRICTED
    ]
    if not keys:
        return []
    plans = key_plans(keys)
    try:
        backend = key_backend(keys[0])
        with backend_errors():
            materials = backend.restrict_keys([plan for _, plan in plans])
        changed = False
        for (versions, plan), stored in zip(plans, materials, strict=True):
            if stored != [bytes(ref.material) for ref in plan.versions]:
                _store_materials(versions, stored)
                changed = True
        if changed:
            plans = key_plans(keys)
        with backend_errors():
            checks = backend.verify_keys([plan for _, plan in plans])
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
    now = timezone.now()
    outcomes, drafts, verified_ids = [], [], []
    for key, (versions, _), restrictions in zip(keys, plans, checks, strict=True):
        report = _report(key, versions, restrictions)
        if report.verified:
            verified_ids.append(key.id)
            outcomes.append(ManagerOutcome(str(key.id), True, ""))
        else:
            note = "applied but not verified: " + "; ".join(c.detail for c in report.versions if not c.decrypt_only)
            ManagedKey.objects.filter(id=key.id).update(restriction_pending=note[:300])
            outcomes.append(ManagerOutcome(str(key.id), False, note[:300]))
        drafts.append(
            EventDraft(
                action="key.restricted" if report.verified else "key.restriction_pending",
                subject_type="key",
                subject_id=key.id,
                reason=VERIFIED_ON_MANAGER if report.verified else f"pending on the manager: {outcomes[-1].pending}",
                incident=incident,
                data={"backend": report.backend, "versions": [_check(c) for c in report.versions]},
            )
        )
    ManagedKey.objects.filter(id__in=verified_ids).update(restricted_at=now, restriction_pending="")
    audit_record_many(actor=actor, drafts=drafts)
    return outcomes
