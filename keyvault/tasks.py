"""Periodic jobs of key custody (Celery beat)."""

from __future__ import annotations

from celery import shared_task

from audit.actors import Actor
from keyvault.services.restriction import restrictions_verify_all


@shared_task(name="keyvault.verify_restrictions")
def verify_restrictions() -> int:
    """Re-verify every decrypt-only key on its backend; returns how many had drifted (and were repaired)."""
    return len(restrictions_verify_all(actor=Actor.system("restriction-check")))
