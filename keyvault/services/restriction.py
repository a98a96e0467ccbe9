"""Decrypt-only on the backend itself, verified after applying, re-verified periodically (drift).

Keys that live in a key manager are restricted there by their connector, in batches (one policy edit
for a thousand keys). A suspension never waits for the manager: Sequester's gate refuses the key when
the suspension commits; the manager is asked right after, and while it cannot be reached (or refuses)
the key is "pending on the manager" (``restriction_pending``) and retried until verified.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from uuid import UUID

import structlog
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from audit.actors import Actor
from audit.services import EventDraft, audit_record, audit_record_many
from keyvault.backends.base import KeyRestriction, Restriction
from keyvault.errors import IllegalTransition
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
    versions = list(key.versions.filter(destroyed_at__isnull=True).order_by("version"))
    plan = KeyRestriction(
        key_id=key.id,
        versions=[version_ref(version) for version in versions],
        compromised=key.key_state in (KeyState.COMPROMISED, KeyState.DESTROYED_COMPROMISED),
        compromise_occurred_at=key.compromise_occurred_at,
    )
    return versions, plan


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
    key = ManagedKey.objects.select_for_update().get(id=key_id)
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
    incident, then re-apply the restriction. Keys whose restriction was never applied (or is pending on
    their key manager) get it now."""
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
    key = ManagedKey.objects.select_for_update().select_related("manager").get(id=key_id)
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
    if not drifted and key.restricted_at is not None:
        return []
    label = _backend_label(key)
    was_restricted = key.restricted_at is not None  # else never applied (or pending on its manager): no drift
    if drifted and was_restricted:
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
    key.restricted_at = timezone.now() if report.verified else None
    key.restriction_pending = "" if report.verified else "applied but not verified on the backend"
    key.save(update_fields=["restricted_at", "restriction_pending"])
    audit_record(
        action="key.restricted",
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
    if not was_restricted:
        return [finding]
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
        for key in ManagedKey.objects.select_for_update()
        .select_related("manager")
        .filter(id__in=key_ids)
        .order_by("id")
        if key.key_state in RESTRICTED
    ]
    if not keys:
        return []
    plans = [key_plan(key) for key in keys]
    try:
        backend = key_backend(keys[0])
        with backend_errors():
            materials = backend.restrict_keys([plan for _, plan in plans])
        for (versions, _), stored in zip(plans, materials, strict=True):
            _store_materials(versions, stored)
        plans = [key_plan(key) for key in keys]
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


def keys_restrict_on_managers_after_commit(*, keys: Sequence[ManagedKey], actor: Actor, incident: str = "") -> None:
    """Called by the lifecycle inside a state change: once it commits (Sequester's gate already refuses
    the keys), ask their managers; what fails is retried by a Celery task and by the periodic check."""
    ids = [key.id for key in keys if key.manager_id is not None]
    if not ids:
        return
    ManagedKey.objects.filter(id__in=ids).update(restricted_at=None, restriction_pending="requested")

    def run() -> None:
        try:
            outcomes = keys_restrict_on_managers(key_ids=ids, actor=actor, incident=incident)
            pending = [outcome.key_id for outcome in outcomes if not outcome.verified]
        except Exception:
            log.exception("key.restriction_on_managers_failed", keys=len(ids))
            pending = [str(key_id) for key_id in ids]
        if pending:
            from keyvault.tasks import restrict_on_managers

            restrict_on_managers.apply_async(kwargs={"key_ids": pending, "incident": incident}, countdown=5)

    transaction.on_commit(run)
