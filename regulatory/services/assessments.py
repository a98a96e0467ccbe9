"""Assessing an incident: facts pre-filled from key custody, recorded with who and when, recomputed with
what changed, and the incident's obligations kept in step."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.actors import Actor
from audit.services import audit_record
from incidents.models import Incident
from keyvault.states import KeyState
from regulatory.engine import obligations_assess
from regulatory.facts import PERSONAL_CATEGORIES, SCHEMA, facts_parse
from regulatory.models import Assessment, Obligation
from regulatory.serialize import obligation_json, utc_z
from regulatory.services.catalogue import catalogue_get
from regulatory.services.clocks import clock_sync

# Key states that make the data readable to someone else (suspended = suspected: assumed, conservatively).
COMPROMISED_STATES = {KeyState.SUSPENDED.value, KeyState.COMPROMISED.value, KeyState.DESTROYED_COMPROMISED.value}


def _blast_radius(incident: Incident) -> dict[str, Any]:
    if incident.blast_radius:
        return dict(incident.blast_radius)
    from keyvault.services.blast_radius import key_blast_radius

    roots = list(incident.incident_keys.exclude(via="cascade").values_list("key_id", flat=True))
    return key_blast_radius(roots).as_dict() if roots else {}


def assessment_latest(incident: Incident) -> Assessment | None:
    return Assessment.objects.filter(incident=incident).order_by("-version").first()


def assessment_prefill(incident: Incident) -> dict[str, Any]:
    """Facts for the assessment form: the latest recorded facts (profile, decisions, events), with the
    data, encryption and key facts refreshed from the blast radius and the incident's keys."""
    latest = assessment_latest(incident)
    facts: dict[str, Any] = (
        copy.deepcopy(latest.facts) if latest else {"schema": SCHEMA, "deadline_tz": settings.TIME_ZONE}
    )
    radius = _blast_radius(incident)
    assets = [a for a in radius.get("data_assets", []) if PERSONAL_CATEGORIES & set(a.get("data_categories", []))]
    by_state: dict[str, int] = {}
    for asset in assets:
        for code in asset.get("jurisdictions", []):
            if str(code).upper().startswith("US-"):
                by_state[str(code).upper()] = by_state.get(str(code).upper(), 0) + int(asset.get("record_count", 0))
    links = incident.incident_keys.select_related("key")
    found = {str(code).strip().upper() for code in radius.get("jurisdictions", []) if str(code).strip()}
    facts["jurisdictions"] = sorted(set(facts.get("jurisdictions", [])) | found)
    data = dict(facts.get("data", {}))
    categories = {str(c) for c in radius.get("data_categories", []) if str(c).strip()}
    data["categories"] = sorted(set(data.get("categories", [])) | categories)
    data["personal_data"] = bool(assets) or bool(data.get("personal_data"))
    radius_total = sum(int(a.get("record_count", 0)) for a in assets)
    # Counts a person recorded win (records are not always people); the blast radius fills the gaps.
    data.setdefault("subjects_total", radius_total)
    if by_state:
        data["subjects_by_state"] = {**by_state, **data.get("subjects_by_state", {})}
    facts["data"] = data
    facts["encryption"] = {
        "encrypted": bool(assets) and all(a.get("encrypted", False) for a in assets),
        "key_compromised": any(link.key.state in COMPROMISED_STATES for link in links),
        "keys": sorted(link.key.alias for link in links),
    }
    events = dict(facts.get("events", {}))
    events.setdefault("detected_at", utc_z(incident.detected_at))
    extra = dict(facts.get("extra", {}))
    synced = _synced_awareness(facts)
    if incident.aware_at is not None and ("aware_at" not in events or synced != utc_z(incident.aware_at)):
        # the incident's awareness time is new, or was corrected since it was last taken: it wins
        events["aware_at"] = utc_z(incident.aware_at)
    facts["events"] = events
    extra["prefill"] = {
        "incident_aware_at": utc_z(incident.aware_at) if incident.aware_at else synced,
        "from": "blast radius and key custody",
        "blast_radius_counts": {"subjects_total": radius_total, "subjects_by_state": by_state},
        "at": utc_z(timezone.now()),
        "notes": [
            "subjects_total counts the records of the affected personal-data assets (a record is taken as a person);"
            " counts recorded in an earlier assessment are kept",
            "a data asset listing several US states counts all its records for each state (upper bound)",
            "a suspended key (suspected compromise) counts as compromised",
        ],
    }
    facts["extra"] = extra
    return facts


def _synced_awareness(facts: dict[str, Any]) -> str | None:
    prefill = facts.get("extra", {}).get("prefill", {})
    value = prefill.get("incident_aware_at") if isinstance(prefill, dict) else None
    return value if isinstance(value, str) else None


def assessment_sync_awareness(incident: Incident) -> Assessment | None:
    """Re-assess when the incident's awareness time was recorded or corrected since the last assessment
    took it, so that the clocks follow at once (no wait for the playbook's regulatory step)."""
    if incident.aware_at is None:
        return None
    latest = assessment_latest(incident)
    if latest is not None:
        synced = _synced_awareness(latest.facts)
        if synced == utc_z(incident.aware_at):
            return None
        if synced is None and "aware_at" in latest.facts.get("events", {}):
            return None  # legal set awareness by hand: theirs stands
    return assessment_record(
        incident=incident,
        facts=assessment_prefill(incident),
        actor=Actor.system("regulatory-sync"),
        note="awareness time recorded or corrected on the incident: clocks follow",
    )


def assessments_sync_open_incidents() -> int:
    """The periodic job: every open incident whose awareness time moved (see above). Returns how many."""
    count = 0
    for incident in Incident.objects.filter(status=Incident.Status.OPEN, aware_at__isnull=False):
        if assessment_sync_awareness(incident) is not None:
            count += 1
    return count


def assessment_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[dict[str, Any]]:
    """Per obligation, what moved between two computed documents (status, due time, trigger)."""
    if before is None:
        return []
    old = {o["id"]: o for o in before.get("obligations", [])}
    changes = []
    for obligation in after.get("obligations", []):
        previous = old.get(obligation["id"], {})
        for field in ("status", "due_utc", "trigger_at"):
            if previous.get(field) != obligation.get(field):
                changes.append(
                    {
                        "id": obligation["id"],
                        "field": field,
                        "before": previous.get(field),
                        "after": obligation.get(field),
                    }
                )
    return changes


def _parse_utc(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


@transaction.atomic
def assessment_record(*, incident: Incident, facts: Any, actor: Actor, note: str = "") -> Assessment:
    """Validate the facts, compute the obligations, store both with who and when, and update the
    incident's obligations. Invalid facts raise the engine's errors (nothing is stored)."""
    catalogue = catalogue_get()
    now = timezone.now()
    parsed = facts_parse(facts, catalogue)
    document = {"obligations": [obligation_json(o) for o in obligations_assess(parsed, catalogue, as_of=now)]}
    Incident.objects.select_for_update().filter(pk=incident.pk).first()
    latest = assessment_latest(incident)
    assessment = Assessment.objects.create(
        incident=incident,
        version=(latest.version + 1) if latest else 1,
        facts=facts,
        obligations=document,
        changes=assessment_changes(latest.obligations if latest else None, document),
        catalogue=list(catalogue.sources),
        recorded_by=actor.name,
        recorded_at=now,
        note=note.strip(),
    )
    before = {o.rule_id: (o.due_at, o.trigger_at) for o in Obligation.objects.filter(incident=incident)}
    for item in document["obligations"]:
        obligation, _ = Obligation.objects.update_or_create(
            incident=incident,
            rule_id=item["id"],
            defaults={
                "status": item["status"],
                "due_at": _parse_utc(item["due_utc"]),
                "trigger_event": item["trigger_event"],
                "trigger_at": _parse_utc(item["trigger_at"]),
                "regime": item["regime"],
                "recipient": item["recipient"],
                "citation": item["citation"],
                "confidence": item["confidence"],
                "detail": item,
                "assessment": assessment,
                "updated_at": now,
            },
        )
        moved = before.get(item["id"], (None, None)) != (obligation.due_at, obligation.trigger_at)
        clock_sync(obligation, moved=moved, version=assessment.version)
    required = [o for o in document["obligations"] if o["status"] == "required"]
    audit_record(
        action="regulatory.assessed",
        actor=actor,
        subject_type="incident",
        subject_id=incident.reference,
        reason=note.strip() or f"regulatory assessment v{assessment.version}",
        incident=incident.reference,
        data={
            "version": assessment.version,
            "required": [o["id"] for o in required],
            "changes": len(assessment.changes),
        },
    )
    return assessment
