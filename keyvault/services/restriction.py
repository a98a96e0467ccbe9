"""Decrypt-only on the backend itself, verified after applying, re-verified periodically (drift)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import structlog
from django.db import transaction
from django.utils import timezone

from audit.actors import Actor
from audit.services import audit_record
from keyvault.errors import IllegalTransition
from keyvault.models import ManagedKey
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


def _restrict_and_verify(key: ManagedKey) -> RestrictionReport:
    backend = key_backend(key)
    checks = []
    for version in key.versions.filter(destroyed_at__isnull=True).order_by("version"):
        with backend_errors():
            material = backend.restrict_to_decrypt(version_ref(version))
            if material != bytes(version.material):
                version_material_set(version, material)
            restriction = backend.verify_restriction(version_ref(version))
        checks.append(VersionCheck(version.version, restriction.decrypt_only, restriction.detail))
    return RestrictionReport(key_id=str(key.id), backend=key.backend, versions=checks)


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
    then re-apply the restriction. Keys whose restriction was never applied get it now."""
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


@transaction.atomic
def _verify_one(key_id: UUID, actor: Actor) -> list[DriftFinding]:
    key = ManagedKey.objects.select_for_update().get(id=key_id)
    if key.key_state not in RESTRICTED:
        return []
    backend = key_backend(key)
    drifted = []
    for version in key.versions.filter(destroyed_at__isnull=True):
        with backend_errors():
            restriction = backend.verify_restriction(version_ref(version))
        if not restriction.decrypt_only:
            drifted.append({"version": version.version, "detail": restriction.detail})
    if not drifted and key.restricted_at is not None:
        return []
    if drifted and key.restricted_at is not None:
        log.error("key.restriction_drift", key=str(key.id), backend=key.backend, versions=drifted)
        audit_record(
            action="key.restriction_drift",
            actor=actor,
            subject_type="key",
            subject_id=key.id,
            reason="the backend allowed encryption again with a key that must be decrypt-only",
            data={"backend": key.backend, "state": key.state, "versions": drifted},
        )
    report = _restrict_and_verify(key)
    key.restricted_at = timezone.now()
    key.save(update_fields=["restricted_at"])
    audit_record(
        action="key.restricted",
        actor=actor,
        subject_type="key",
        subject_id=key.id,
        reason="re-applied after drift" if drifted else "applied by the periodic restriction check",
        data={"backend": key.backend, "versions": [_check(c) for c in report.versions]},
    )
    if not drifted:
        return []
    return [DriftFinding(str(key.id), key.backend, drifted, repaired=report.verified)]
