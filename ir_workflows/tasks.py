"""Celery tasks that carry the outbox to Temporal. Thin: load by id, call the service, retry."""

from __future__ import annotations

from celery import shared_task

from ir_workflows.outbox import DeliveryRetry, outbox_deliver, outbox_sweep


@shared_task(
    name="ir_workflows.deliver_outbox",
    autoretry_for=(DeliveryRetry,),
    retry_backoff=2,
    retry_backoff_max=300,
    max_retries=None,
)
def deliver_outbox(outbox_id: int) -> bool:
    return outbox_deliver(outbox_id)


@shared_task(name="ir_workflows.sweep_outbox")
def sweep_outbox() -> int:
    """Re-deliver what is still pending; returns how many entries it delivered (the others wait for the
    next sweep)."""
    delivered, _ = outbox_sweep()
    return delivered
