"""A key found able to encrypt again behind Sequester's back (drift) opens an incident, or extends the
open incident that holds it: someone with access to the backend or key manager undid a containment."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import transaction

from audit.actors import Actor
from audit.services import audit_record
from incidents.models import IncidentKey, Severity
from incidents.services.incidents import incident_open_or_attach
from keyvault.models import ManagedKey

DRIFT_CHECK = Actor.system("restriction-check")


def incident_for_drift(
    sender: Any, *, key_id: UUID, backend: str, versions: list[dict[str, object]], repaired: bool, **_: Any
) -> str:
    with transaction.atomic():
        key = ManagedKey.objects.get(id=key_id)
        reason = (
            f"key {key.alias} could encrypt again on {backend} although it must be decrypt-only "
            f"({'restriction re-applied' if repaired else 'restriction NOT re-applied'})"
        )
        containment = incident_open_or_attach(
            keys=[key],
            title=f"Restriction drift: {key.alias} re-enabled on {backend}",
            severity=Severity.HIGH,
            actor=DRIFT_CHECK,
            reason=reason,
            via=IncidentKey.Via.DRIFT,
        )
        audit_record(
            action="incident.restriction_drift",
            actor=DRIFT_CHECK,
            subject_type="incident",
            subject_id=containment.incident.reference,
            reason=reason,
            incident=containment.incident.reference,
            data={"key": str(key.id), "backend": backend, "versions": versions, "repaired": repaired},
        )
        return containment.incident.reference
