"""Background jobs of key custody (Celery): the owed restrictions retried, the periodic drift check."""

from __future__ import annotations

from uuid import UUID

from celery import shared_task

from audit.actors import Actor
from keyvault.services.restriction import restrictions_apply, restrictions_retry_later, restrictions_verify_all

# Then the periodic check (every SEQUESTER_RESTRICTION_CHECK_SECONDS) owns what is still owed.
RESTRICT_ATTEMPTS = 6


@shared_task(name="keyvault.restrict_keys")
def restrict_keys(key_ids: list[str], actor_name: str, actor_type: str, incident: str, attempt: int) -> int:
    """Apply the restrictions that state changes made owed; requeue what is still pending, with backoff.
    Returns how many were verified."""
    actor = Actor(name=actor_name, type=actor_type)
    ids = [UUID(key_id) for key_id in key_ids]
    outcome = restrictions_apply(key_ids=ids, actor=actor, incident=incident, inline_limit=len(ids), retry=False)
    if outcome.pending and attempt + 1 < RESTRICT_ATTEMPTS:
        restrictions_retry_later(key_ids=outcome.pending, actor=actor, incident=incident, attempt=attempt + 1)
    return len(outcome.verified)


@shared_task(name="keyvault.verify_restrictions")
def verify_restrictions() -> int:
    """Re-verify every decrypt-only key on its backend; returns how many had drifted (and were repaired)."""
    return len(restrictions_verify_all(actor=Actor.system("restriction-check")))
