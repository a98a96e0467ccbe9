"""Periodic jobs of the regulatory app (Celery beat)."""

from __future__ import annotations

from celery import shared_task

from regulatory.services.assessments import assessments_sync_open_incidents


@shared_task(name="regulatory.sync_awareness")
def sync_awareness() -> int:
    """Re-assess open incidents whose awareness time was recorded or corrected; returns how many."""
    return assessments_sync_open_incidents()
