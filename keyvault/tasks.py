"""Periodic jobs of key custody (Celery beat) and the retry of restrictions pending on key managers."""

from __future__ import annotations

import uuid
from typing import Any

from celery import shared_task

from audit.actors import Actor
from keyvault.services.restriction import keys_restrict_on_managers, restrictions_verify_all

MANAGER_RETRY_MAX_SECONDS = 300


@shared_task(name="keyvault.verify_restrictions")
def verify_restrictions() -> int:
    """Re-verify every decrypt-only key on its backend; returns how many had drifted (and were repaired)."""
    return len(restrictions_verify_all(actor=Actor.system("restriction-check")))


@shared_task(name="keyvault.restrict_on_managers", bind=True, max_retries=None)
def restrict_on_managers(self: Any, key_ids: list[str], incident: str = "") -> int:
    """Retry decrypt-only on the key managers until verified (backing off to every 5 minutes; the
    periodic check covers the same keys should this chain of retries be lost)."""
    outcomes = keys_restrict_on_managers(
        key_ids=[uuid.UUID(k) for k in key_ids], actor=Actor.system("restriction-retry"), incident=incident
    )
    pending = [outcome.key_id for outcome in outcomes if not outcome.verified]
    if pending:
        countdown = min(MANAGER_RETRY_MAX_SECONDS, 5 * 2 ** min(self.request.retries, 6))
        raise self.retry(kwargs={"key_ids": pending, "incident": incident}, countdown=countdown)
    return len(outcomes)


@shared_task(name="keyvault.sync_key_managers")
def sync_key_managers() -> int:
    """Bring every key manager's inventory in step; returns how many managers were synced."""
    from keyvault.services.managers import key_managers_sync_all

    return key_managers_sync_all(actor=Actor.system("key-manager-sync"))
