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
from regulatory.facts import PERSONAL_CATEGORIES, PRIMARY, SCHEMA, facts_parse
from regulatory.facts_diff import facts_diff
from regulatory.models import Assessment, Filing, Obligation, OrganisationProfile
from regulatory.serialize import obligation_json, utc_z
from regulatory.services.catalogue import catalogue_get
from regulatory.services.clocks import clock_sync
from regulatory.services.profile import profile_current, profile_facts

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


def _asset_block(asset: dict[str, Any]) -> dict[str, Any]:
    """A data asset of the blast radius as a data block: which law its data falls under is read from
    its jurisdictions; a record is taken as a person; each US state counts all its records (upper bound)."""
    categories = sorted({str(c) for c in asset.get("data_categories", []) if str(c).strip()})
    codes = sorted({str(c).strip().upper() for c in asset.get("jurisdictions", []) if str(c).strip()})
    records = int(asset.get("record_count", 0))
    block: dict[str, Any] = {
        "name": str(asset.get("name") or asset.get("id")),
        "jurisdictions": codes,
        "categories": categories,
        "personal_data": bool(PERSONAL_CATEGORIES & set(categories)),
        "subjects_total": records,
        "encrypted": bool(asset.get("encrypted", False)),
    }
    states = {code: records for code in codes if code.startswith("US-")}
    if states:
        block["subjects_by_state"] = states
    return block


def _entities_snapshot(facts: dict[str, Any]) -> dict[str, Any]:
    """The entity facts without what is set per incident (their events), to tell the profile's from legal's."""

    def bare(entity: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in entity.items() if k not in ("events", "informed_by", "agent")}

    return {
        "deadline_tz": facts.get("deadline_tz"),
        "entity": bare(facts.get("entity", {})),
        "entities": [bare(e) for e in facts.get("entities", [])],
    }


def _apply_profile(facts: dict[str, Any], profile: OrganisationProfile, applied: dict[str, Any] | None) -> bool:
    """Take the profile's entities, unless legal changed the entity facts for this incident since they were
    pre-filled (then theirs stand). Per-incident entity facts (events, chains) are carried over by id."""
    if applied is not None and _entities_snapshot(facts) != applied:
        return False
    from_profile = profile_facts(profile)
    carried = {e.get("id"): e for e in [facts.get("entity", {}), *facts.get("entities", [])]}

    def with_incident_facts(entity: dict[str, Any]) -> dict[str, Any]:
        previous = carried.get(entity.get("id"), {})
        return {**entity, **{k: previous[k] for k in ("events", "informed_by", "agent") if k in previous}}

    facts["deadline_tz"] = from_profile["deadline_tz"]
    facts["entity"] = with_incident_facts(from_profile["entity"])
    others = [with_incident_facts(e) for e in from_profile.get("entities", [])]
    known = {e.get("id") for e in others} | {facts["entity"].get("id")}
    others += [e for e in facts.get("entities", []) if e.get("id") not in known]  # chains legal added
    if others:
        facts["entities"] = others
    else:
        facts.pop("entities", None)
    return True


def _filed_events(incident: Incident, facts: dict[str, Any]) -> None:
    """Events that filings record (a submission a follow-up runs from; when an informed entity was told),
    unless recorded otherwise: the earliest filing of each."""
    events = facts.setdefault("events", {})
    principal = facts.get("entity", {})
    entities = {e.get("id"): e for e in facts.get("entities", [])}
    principal_id = principal.get("id", PRIMARY)
    filings = Filing.objects.filter(obligation__incident=incident).select_related("obligation").order_by("filed_at")
    for filing in filings:
        detail = filing.obligation.detail
        name = detail.get("filed_event")
        if not name:
            continue
        by = (detail.get("entity") or {}).get("id") or principal_id
        at = utc_z(filing.filed_at)
        if name == "informed_at":
            for told in [principal, *entities.values()]:
                if told.get("informed_by") == by:
                    told.setdefault("events", {}).setdefault("informed_at", at)
        elif by == principal_id:
            events.setdefault(name, at)
        elif by in entities:
            entities[by].setdefault("events", {}).setdefault(name, at)


def assessment_prefill(incident: Incident) -> dict[str, Any]:
    """Facts for the assessment form: the latest recorded facts (decisions, events, legal's corrections)
    on top of the organisation profile, with the data blocks and key facts refreshed from the blast radius
    and the incident's keys, and the events that filings recorded."""
    latest = assessment_latest(incident)
    profile = profile_current()
    facts: dict[str, Any] = (
        copy.deepcopy(latest.facts) if latest else {"schema": SCHEMA, "deadline_tz": settings.TIME_ZONE}
    )
    extra = dict(facts.get("extra", {}))
    previous_prefill = extra.get("prefill", {}) if isinstance(extra.get("prefill"), dict) else {}
    profile_note: dict[str, Any] = {"version": None}
    if profile is not None:
        applied = previous_prefill.get("profile", {}).get("applied") if latest is not None else None
        if latest is not None and applied is None and facts.get("entity"):
            applied = {}  # recorded before the profile existed, with entity facts of its own: theirs stand
        taken = _apply_profile(facts, profile, applied)
        used = previous_prefill.get("profile", {}).get("version") if not taken else profile.version
        profile_note = {
            "version": used,
            "current": profile.version,
            "applied": _entities_snapshot(facts) if taken else applied,
            "edited_for_incident": not taken,
        }
    radius = _blast_radius(incident)
    found = {str(code).strip().upper() for code in radius.get("jurisdictions", []) if str(code).strip()}
    facts["jurisdictions"] = sorted(set(facts.get("jurisdictions", [])) | found)
    recorded = {b.get("name"): b for b in facts.get("data", {}).get("blocks", [])}
    blocks = [_asset_block(asset) for asset in radius.get("data_assets", [])]
    names = {b["name"] for b in blocks}
    # A block legal corrected (people rather than records, say) stands; new assets come in as blocks.
    facts["data"] = {
        "blocks": [recorded.get(b["name"], b) for b in blocks] + [b for n, b in recorded.items() if n not in names]
    }
    links = incident.incident_keys.select_related("key")
    facts["encryption"] = {
        "key_compromised": any(link.key.state in COMPROMISED_STATES for link in links),
        "keys": sorted(link.key.alias for link in links),
    }
    events = dict(facts.get("events", {}))
    events.setdefault("detected_at", utc_z(incident.detected_at))
    synced = _synced_awareness(facts)
    if incident.aware_at is not None and ("aware_at" not in events or synced != utc_z(incident.aware_at)):
        # the incident's awareness time is new, or was corrected since it was last taken: it wins
        events["aware_at"] = utc_z(incident.aware_at)
    facts["events"] = events
    _filed_events(incident, facts)
    extra["prefill"] = {
        "incident_aware_at": utc_z(incident.aware_at) if incident.aware_at else synced,
        "from": "organisation profile, blast radius and key custody",
        "profile": profile_note,
        "blast_radius_counts": {b["name"]: b["subjects_total"] for b in blocks},
        "at": utc_z(timezone.now()),
        "notes": [
            "each data asset of the blast radius is a data block: the rules of a law read the blocks under it",
            "subjects_total counts the asset's records (a record is taken as a person); corrected blocks are kept",
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


def _sync_reason(incident: Incident, latest: Assessment | None) -> str | None:
    """Why the incident's clocks need a new assessment now (None: they do not)."""
    if latest is None:
        return "first assessment from the organisation profile, the blast radius and key custody: clocks start"
    prefill = latest.facts.get("extra", {}).get("prefill", {})
    if incident.aware_at is not None:
        synced = _synced_awareness(latest.facts)
        legal_set_it = synced is None and "aware_at" in latest.facts.get("events", {})
        if synced != utc_z(incident.aware_at) and not legal_set_it:  # legal's own awareness time stands
            return "awareness time recorded or corrected on the incident: clocks follow"
    profile = profile_current()
    taken = prefill.get("profile", {}) if isinstance(prefill, dict) else {}
    edited = taken.get("edited_for_incident") or (
        taken.get("applied") is not None and _entities_snapshot(latest.facts) != taken["applied"]
    )
    if (
        profile is not None
        and not edited
        and taken.get("version") != profile.version
        and (taken.get("version") is not None or not latest.facts.get("entity"))
    ):
        return f"organisation profile v{profile.version} published: clocks follow"
    return None


def assessment_sync(incident: Incident) -> Assessment | None:
    """Re-assess when something the clocks depend on moved outside legal's form: the incident has no
    assessment yet (its clocks may already run), its awareness time was recorded or corrected, or a new
    organisation profile applies to it. Legal's own corrections are never overridden."""
    reason = _sync_reason(incident, assessment_latest(incident))
    if reason is None:
        return None
    return assessment_record(
        incident=incident,
        facts=assessment_prefill(incident),
        actor=Actor.system("regulatory-sync"),
        note=reason,
    )


def assessments_sync_open_incidents() -> int:
    """The periodic job: every open incident whose clocks need a new assessment (see above)."""
    count = 0
    for incident in Incident.objects.filter(status=Incident.Status.OPEN):
        if assessment_sync(incident) is not None:
            count += 1
    return count


def assessment_after_filing(obligation: Obligation) -> Assessment | None:
    """A filing that records an event (a submission a follow-up report runs from, or when an informed
    entity was told) re-assesses at once, so that the follow-up's clock starts."""
    if not obligation.detail.get("filed_event"):
        return None
    latest = assessment_latest(obligation.incident)
    facts = assessment_prefill(obligation.incident)
    if latest is not None and facts_diff(latest.facts, facts) == []:
        return None
    return assessment_record(
        incident=obligation.incident,
        facts=facts,
        actor=Actor.system("regulatory-filing"),
        note=f"{obligation.rule_id} filed: {obligation.detail['filed_event']} recorded from the filing",
    )


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
