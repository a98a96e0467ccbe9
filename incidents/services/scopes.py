"""What of the audit trail belongs to an incident: its own events and those about its keys."""

from __future__ import annotations

from audit.bundles import BundleScope
from incidents.models import IncidentKey
from incidents.services.incidents import incident_get


def incident_audit_scope(reference: str) -> BundleScope:
    incident = incident_get(reference)
    key_ids = IncidentKey.objects.filter(incident=incident).values_list("key_id", flat=True)
    return BundleScope(incident=incident.reference, key_ids=frozenset(str(k) for k in key_ids))
