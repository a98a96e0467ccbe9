"""Incidents as the API and the pages show them (from the database: the source of truth)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from approvals.models import ApprovalRequest
from approvals.presenters import request_summary
from approvals.selectors import requests_for_listing
from audit.models import AuditEvent
from incidents.models import Incident, IncidentKey
from incidents.timeline import event_words
from keyvault.selectors import key_restriction_status

TIMELINE_PAGE = 50

STEPS = ["contain", "confirm", "restrict", "rewrap", "notify", "regulatory", "close", "closed"]


def _key_count(incident: Incident) -> int:
    counted = getattr(incident, "key_count", None)  # annotated by incidents_find: no query per row
    return int(counted) if counted is not None else incident.incident_keys.count()


def incident_summary(incident: Incident) -> dict[str, Any]:
    return {
        "reference": incident.reference,
        "id": str(incident.id),
        "title": incident.title,
        "status": incident.status,
        "step": incident.step,
        "severity": incident.severity,
        "resolution": incident.resolution,
        "commander": incident.commander.get_username() if incident.commander else None,
        "opened_at": incident.opened_at.isoformat(),
        "detected_at": incident.detected_at.isoformat(),
        "aware_at": incident.aware_at.isoformat() if incident.aware_at else None,
        "closed_at": incident.closed_at.isoformat() if incident.closed_at else None,
        "attention": incident.attention,
        "key_count": _key_count(incident),
    }


def incident_keys(incident: Incident, limit: int = 500) -> list[dict[str, Any]]:
    links = (
        IncidentKey.objects.filter(incident=incident)
        .select_related("key", "key__replaced_by")
        .order_by("via", "key__alias")
    )
    return [
        {
            "id": str(link.key.id),
            "alias": link.key.alias,
            "state": link.key.state,
            "via": link.via,
            "restricted": link.key.restricted_at is not None,
            "restriction": key_restriction_status(link.key),
            "replacement": str(link.key.replaced_by_id) if link.key.replaced_by_id else None,
            "replacement_alias": link.key.replaced_by.alias if link.key.replaced_by else None,
            "retired": link.key.retired_reason if link.key.retired_at else "",
            "ai_category": link.key.ai_category,
        }
        for link in links[:limit]
    ]


def timeline_event(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": event.occurred_at.isoformat(),
        "action": event.action,
        "actor": event.actor,
        "reason": event.reason,
        "subject": f"{event.subject_type}:{event.subject_id}",
        **dict(zip(("what", "details"), event_words(event.action, event.reason, event.data or {}), strict=True)),
    }


def incident_timeline_events(reference: str) -> QuerySet[AuditEvent]:
    """The incident's audit events, newest first (paginated by sequence number: never a COUNT)."""
    return AuditEvent.objects.filter(incident=reference).order_by("-seq")


def incident_timeline(reference: str, *, before: int | None = None, size: int = TIMELINE_PAGE) -> dict[str, Any]:
    """One page of the timeline: ``size`` events older than ``before`` (the newest without it), and the
    sequence number to ask for the next older page from (None: this page reaches the first event)."""
    events = incident_timeline_events(reference)
    if before is not None:
        events = events.filter(seq__lt=before)
    page = list(events[: size + 1])
    older = page[size - 1].seq if len(page) > size else None
    return {"events": [timeline_event(e) for e in page[:size]], "older_than": older, "before": before}


def incident_detail(incident: Incident, *, timeline_before: int | None = None) -> dict[str, Any]:
    data = incident_summary(incident)
    timeline = incident_timeline(incident.reference, before=timeline_before)
    data.update(
        {
            "keys": incident_keys(incident),
            "blast_radius": incident.blast_radius,
            "approvals": [
                request_summary(r)
                for r in requests_for_listing(ApprovalRequest.objects.filter(incident=incident.reference)).order_by(
                    "-requested_at"
                )
            ],
            "rewrap": [
                {
                    "key": str(p.key_id),
                    "key_alias": p.key.alias,
                    "replacement": str(p.replacement_id),
                    "replacement_alias": p.replacement.alias,
                    "done": p.done,
                    "total": p.total,
                    "finished": p.finished_at is not None,
                }
                for p in incident.rewraps.select_related("key", "replacement").order_by("started_at")
            ],
            "signals": [
                {
                    "id": str(s.id),
                    "source": s.source,
                    "event_id": s.event_id,
                    "type": s.type,
                    "received_at": s.received_at.isoformat(),
                    "via": s.received_via,
                    "evidence": s.evidence,
                }
                for s in incident.signals.all()[:100]
            ],
            "timeline": timeline["events"],
            # the next older page of the timeline starts below this sequence number (null: none older)
            "timeline_older_than": timeline["older_than"],
        }
    )
    return data
