"""Decrypt-only on the backend itself, verified after applying, re-verified periodically (drift).

The lifecycle service owes a restriction whenever a key enters a restricted state (``restricted_at`` is
then empty) and calls ``restrictions_apply`` after its transaction commits: containment never waits for,
nor depends on, a backend (the gate refuses at once from the database). What cannot be applied and
verified at once is retried by the ``keyvault.restrict_keys`` task, with backoff, and in the end by the
periodic check (``restrictions_verify_all``), which applies every restriction still owed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.actors import Actor
from audit.services import audit_record
from keyvault.backends.base import VersionRef
from keyvault.errors import BackendUnavailable, IllegalTransition, KeyNotFound
from keyvault.models import KeyVersion, ManagedKey
from keyvault.services.versions import backend_errors, key_backend, version_material_set, version_ref
from keyvault.states import RESTRICTED
from webapp.errors import DomainError

log = structlog.get_logger(__name__)


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


def _read_back(key: ManagedKey) -> RestrictionReport:
    """What the backend says of each live version, now (no database lock held)."""
    backend = key_backend(key)
    checks = []
    for version in key.versions.filter(destroyed_at__isnull=True).order_by("version"):
        with backend_errors():
            restriction = backend.verify_restriction(version_ref(version))
        checks.append(VersionCheck(version.version, restriction.decrypt_only, restriction.detail))
    return RestrictionReport(key_id=str(key.id), backend=key.backend, versions=checks)


def key_restrict(*, key_id: UUID, actor: Actor, incident: str = "") -> RestrictionReport:
    """Apply decrypt-only on the backend for a suspended, deactivated or compromised key, and prove it.

    The backend is called with no database lock held (a slow HSM or key manager must not hold the key's
    row, which every encrypt checks); the result is then recorded under the key's lock, if the key is
    still restricted — a key restored meanwhile gets its backend permission back."""
    key = ManagedKey.objects.filter(id=key_id).first()
    if key is None:
        raise KeyNotFound(f"no key with id {key_id}")
    if key.key_state not in RESTRICTED:
        raise IllegalTransition(f"only suspended, deactivated or compromised keys are restricted, not {key.state}")
    backend = key_backend(key)
    applied: list[tuple[KeyVersion, bytes]] = []
    checks = []
    for version in key.versions.filter(destroyed_at__isnull=True).order_by("version"):
        with backend_errors():
            material = backend.restrict_to_decrypt(version_ref(version))
            restriction = backend.verify_restriction(VersionRef(key.id, version.version, material))
        applied.append((version, material))
        checks.append(VersionCheck(version.version, restriction.decrypt_only, restriction.detail))
    report = RestrictionReport(key_id=str(key.id), backend=key.backend, versions=checks)
    with transaction.atomic():
        key = ManagedKey.objects.select_for_update().get(id=key_id)
        if key.key_state not in RESTRICTED:  # restored while the backend was called: undo, then say so
            for version, material in applied:
                with backend_errors():
                    backend.allow_encrypt(VersionRef(key.id, version.version, material))
            raise IllegalTransition(f"key {key.id} was {key.key_state.label} again before its restriction landed")
        for version, material in applied:
            if material != bytes(version.material):
                version_material_set(version, material)
        if not report.verified:
            raise RestrictionNotVerified(f"the {key.backend} backend still allows encryption with key {key.id}")
        key.restricted_at = timezone.now()
        key.save(update_fields=["restricted_at"])
        audit_record(
            action="key.restricted",
            actor=actor,
            subject_type="key",
            subject_id=key.id,
            reason="decrypt-only applied on the backend and verified",
            incident=incident,
            data={"backend": key.backend, "versions": [_check(c) for c in report.versions]},
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
    owed = dict(
        ManagedKey.objects.filter(
            id__in=ids, state__in=[s.value for s in RESTRICTED], restricted_at__isnull=True
        ).values_list("id", "backend")
    )
    for position, key_id in enumerate(ids):
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
    """Re-verify every key that must be decrypt-only; on drift, raise an audit event and an alert,
    then re-apply the restriction. Keys whose restriction is still owed (never applied, or lost with a
    crash between a state change and its restriction) get it now."""
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
            findings.append(DriftFinding(str(key_id), "", [{"error": exc.code}], repaired=False))
    return findings


def _verify_one(key_id: UUID, actor: Actor) -> list[DriftFinding]:
    """Read the restriction back (no lock held); on drift, alert and re-apply; apply it if still owed."""
    key = ManagedKey.objects.filter(id=key_id).first()
    if key is None or key.key_state not in RESTRICTED:
        return []
    applied = key.restricted_at is not None  # else owed: applied now, which is no drift
    drifted = [
        {"version": check.version, "detail": check.detail}
        for check in _read_back(key).versions
        if not check.decrypt_only
    ]
    if applied and not drifted:
        return []
    if applied:
        log.error("key.restriction_drift", key=str(key.id), backend=key.backend, versions=drifted)
        audit_record(
            action="key.restriction_drift",
            actor=actor,
            subject_type="key",
            subject_id=key.id,
            reason="the backend allowed encryption again with a key that must be decrypt-only",
            data={"backend": key.backend, "state": key.state, "versions": drifted},
        )
    try:
        repaired = key_restrict(key_id=key.id, actor=actor).verified
    except RestrictionNotVerified as exc:
        repaired = False
        ManagedKey.objects.filter(id=key.id).update(restricted_at=None)  # owed again: the next check retries
        audit_record(
            action="key.restriction_pending",
            actor=actor,
            subject_type="key",
            subject_id=key.id,
            reason=exc.message,
            data={"backend": key.backend, "versions": drifted},
        )
    except IllegalTransition:
        return []  # restored or destroyed meanwhile
    if not applied:
        return []
    return [DriftFinding(str(key.id), key.backend, drifted, repaired=repaired)]
