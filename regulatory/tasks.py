"""Periodic jobs of the regulatory app (Celery beat)."""

from __future__ import annotations

from celery import shared_task

from incidents.models import Incident
from regulatory.services.assessments import assessment_sync, assessments_sync_open_incidents


@shared_task(name="regulatory.sync_awareness")
def sync_awareness() -> int:
    """Assess open incidents not assessed yet, or whose awareness time or organisation profile moved;
    returns how many."""
    return assessments_sync_open_incidents()


@shared_task(name="regulatory.assess_incident")
def assess_incident(reference: str) -> int | None:
    """A new incident is assessed at once (its clocks may already run); returns the version, if one."""
    incident = Incident.objects.filter(reference=reference, status=Incident.Status.OPEN).first()
    assessment = assessment_sync(incident) if incident is not None else None
    return assessment.version if assessment is not None else None
