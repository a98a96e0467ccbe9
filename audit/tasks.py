"""Periodic audit jobs (Celery beat)."""

from __future__ import annotations

from celery import shared_task

from audit.checkpoints import audit_checkpoint_create


@shared_task(name="audit.checkpoint")
def checkpoint() -> int | None:
    """Sign the chain's head; returns its sequence number (None while the trail is empty)."""
    created = audit_checkpoint_create()
    return created.seq if created else None
