"""Enqueue in the caller's transaction, deliver after commit (Celery, retried), sweep what was missed.

Delivery is idempotent on Temporal's side: a start uses the workflow id (an existing run is not
started twice) and an update its id (a repeated update returns the first result).

Delivery never holds its caller (a Celery process) waiting on Temporal: every call has a short RPC timeout
(``TEMPORAL_RPC_TIMEOUT_SECONDS``), an update is delivered once the workflow *accepted* it (its validator
passed; the handler's work goes on in the workflow), and what did not get through is retried later (the
task's backoff, then the sweep) instead of being waited for.

A child start asks a running parent workflow, by an update, to start the child itself (the parent keeps
the ids it started, so a repeat is a no-op). When the parent is not running (it has ended, refuses with
``PARENT_CLOSED``, or never existed) the child is started standalone under the same id instead; while
the parent's own start is still waiting in the outbox, the child waits too.
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import structlog
from django.conf import settings
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from ir_workflows.models import TemporalOutbox

if TYPE_CHECKING:  # the Temporal SDK is imported only by delivery: every process enqueues, few deliver
    from temporalio.client import Client

log = structlog.get_logger(__name__)

# Sent after an entry reached Temporal: sender=TemporalOutbox, entry=the row.
outbox_delivered = Signal()

# Update rejections that mean "not yet" (a gate about to open), not "never".
TRANSIENT_REJECTIONS = {"GateNotOpen"}

# Update rejections by a parent that has finished its work: start the child standalone.
PARENT_CLOSED = {"IncidentClosed"}

# RPC failures that retrying cannot fix: the workflow does not exist or has completed.
PERMANENT_RPC_STATUSES = ("NOT_FOUND", "INVALID_ARGUMENT", "FAILED_PRECONDITION")


class DeliveryRetry(Exception):
    """Temporal could not be reached (or answered a transient error): try again later."""


def _as_json(payload: Any) -> dict[str, Any]:
    if is_dataclass(payload) and not isinstance(payload, type):
        return asdict(payload)
    return dict(payload)


def _schedule(outbox_id: int) -> None:
    from ir_workflows.tasks import deliver_outbox

    deliver_outbox.delay(outbox_id)


def _enqueue(entry: TemporalOutbox) -> TemporalOutbox:
    """Insert unless the idempotency key is there already (one statement, no savepoint); deliver after
    the caller's commit."""
    TemporalOutbox.objects.bulk_create([entry], ignore_conflicts=True)
    stored = TemporalOutbox.objects.get(idempotency_key=entry.idempotency_key)
    transaction.on_commit(lambda: _schedule(stored.pk))
    return stored


def outbox_start(*, workflow_type: str, workflow_id: str, payload: Any) -> TemporalOutbox:
    """Start ``workflow_type`` as ``workflow_id`` once the caller's transaction commits."""
    return _enqueue(
        TemporalOutbox(
            idempotency_key=f"start:{workflow_id}",
            kind=TemporalOutbox.Kind.START,
            workflow_id=workflow_id,
            workflow_type=workflow_type,
            payload=_as_json(payload),
        )
    )


def outbox_update(*, workflow_id: str, update_name: str, update_id: str, payload: Any) -> TemporalOutbox:
    """Send the update ``update_name`` with id ``update_id`` once the caller's transaction commits."""
    return _enqueue(
        TemporalOutbox(
            idempotency_key=f"update:{workflow_id}:{update_id}",
            kind=TemporalOutbox.Kind.UPDATE,
            workflow_id=workflow_id,
            update_name=update_name,
            payload=_as_json(payload),
        )
    )


def outbox_start_child(
    *, parent_workflow_id: str, update_name: str, workflow_type: str, workflow_id: str, payload: Any
) -> TemporalOutbox:
    """Once the caller's transaction commits, ask the running workflow ``parent_workflow_id`` (update
    ``update_name`` with ``{"workflow_id": workflow_id, "input": payload}``) to start ``workflow_type``
    as its child ``workflow_id``; if the parent is not running, start it standalone (as ``outbox_start``)."""
    return _enqueue(
        TemporalOutbox(
            idempotency_key=f"start:{workflow_id}",
            kind=TemporalOutbox.Kind.CHILD,
            workflow_id=workflow_id,
            parent_workflow_id=parent_workflow_id,
            workflow_type=workflow_type,
            update_name=update_name,
            payload=_as_json(payload),
        )
    )


# How long a delivered update's result is waited for once the workflow accepted it (most handlers answer
# at once); past that the entry is delivered all the same, its result noted as accepted.
UPDATE_RESULT_WAIT_SECONDS = 1.0


def _rpc_timeout() -> timedelta:
    return timedelta(seconds=settings.TEMPORAL_RPC_TIMEOUT_SECONDS)


async def _start(client: Client, entry: TemporalOutbox) -> dict[str, Any]:
    from temporalio.common import WorkflowIDReusePolicy
    from temporalio.exceptions import WorkflowAlreadyStartedError

    try:
        await client.start_workflow(
            entry.workflow_type,
            entry.payload,
            id=entry.workflow_id,
            task_queue=settings.TEMPORAL_TASK_QUEUE,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            rpc_timeout=_rpc_timeout(),
        )
    except WorkflowAlreadyStartedError:
        return {"already_started": True}
    return {"started": True}


async def _update(client: Client, workflow_id: str, name: str, payload: Any, update_id: str) -> Any:
    """Deliver an update without waiting for its handler: done once the workflow accepted it."""
    import asyncio

    from temporalio.client import WorkflowUpdateStage

    handle = client.get_workflow_handle(workflow_id)
    update = await handle.start_update(
        name, payload, id=update_id, wait_for_stage=WorkflowUpdateStage.ACCEPTED, rpc_timeout=_rpc_timeout()
    )
    try:
        return await asyncio.wait_for(update.result(), UPDATE_RESULT_WAIT_SECONDS)
    except TimeoutError:
        return {"accepted": update_id}


async def _send(client: Client, entry: TemporalOutbox) -> Any:
    if entry.kind == TemporalOutbox.Kind.START:
        return await _start(client, entry)
    if entry.kind == TemporalOutbox.Kind.CHILD:
        request = {"workflow_id": entry.workflow_id, "input": entry.payload}
        return await _update(client, entry.parent_workflow_id, entry.update_name, request, f"start-{entry.workflow_id}")
    update_id = entry.idempotency_key.rsplit(":", 1)[1]
    return await _update(client, entry.workflow_id, entry.update_name, entry.payload, update_id)


def _start_pending(workflow_id: str) -> bool:
    """Is the start of ``workflow_id`` still waiting in the outbox (Temporal has not seen it yet)?"""
    return TemporalOutbox.objects.filter(
        idempotency_key=f"start:{workflow_id}", delivered_at__isnull=True, gave_up_at__isnull=True
    ).exists()


def _send_child(entry: TemporalOutbox) -> Any:
    """A child start: through its running parent, or standalone when the parent is not running."""
    from temporalio.client import WorkflowUpdateFailedError
    from temporalio.exceptions import ApplicationError
    from temporalio.service import RPCError, RPCStatusCode

    from ir_workflows.client import shared_client

    if entry.parent_workflow_id:
        try:
            return shared_client.run(lambda client: _send(client, entry))
        except WorkflowUpdateFailedError as exc:
            if not (isinstance(exc.cause, ApplicationError) and exc.cause.type in PARENT_CLOSED):
                raise
            why = f"the parent refused: {exc.cause}"
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            if _start_pending(entry.parent_workflow_id):
                _note_error(entry, f"the parent {entry.parent_workflow_id} is not started yet")
                raise DeliveryRetry(f"waiting for the start of {entry.parent_workflow_id}") from exc
            why = f"the parent is not running: {exc.message}"
        log.info("temporal.outbox_child_standalone", workflow=entry.workflow_id, parent=entry.parent_workflow_id)
    else:
        why = "no parent"
    result = shared_client.run(lambda client: _start(client, entry))
    return {**result, "standalone": why}


def outbox_deliver(outbox_id: int) -> bool:
    """Deliver one entry. True when done (delivered or given up), raises DeliveryRetry otherwise (within
    about TEMPORAL_RPC_TIMEOUT_SECONDS: a Temporal that is down or slow is retried later, not waited on)."""
    from temporalio.client import RPCTimeoutOrCancelledError, WorkflowUpdateFailedError
    from temporalio.exceptions import ApplicationError
    from temporalio.service import RPCError, RPCStatusCode

    from ir_workflows.client import shared_client

    with transaction.atomic():
        entry = TemporalOutbox.objects.select_for_update().filter(pk=outbox_id).first()
        if entry is None or entry.delivered_at or entry.gave_up_at:
            return True
        entry.attempts += 1
        entry.save(update_fields=["attempts"])
    try:
        if entry.kind == TemporalOutbox.Kind.CHILD:
            result = _send_child(entry)
        else:
            result = shared_client.run(lambda client: _send(client, entry))
    except WorkflowUpdateFailedError as exc:
        if isinstance(exc.cause, ApplicationError) and exc.cause.type in TRANSIENT_REJECTIONS:
            _note_error(entry, f"not yet accepted: {exc.cause}")
            raise DeliveryRetry(str(exc.cause)) from exc
        return _give_up(entry, f"the workflow rejected the update: {exc.cause or exc}")
    except RPCError as exc:
        overtook = exc.status == RPCStatusCode.NOT_FOUND and entry.kind == TemporalOutbox.Kind.UPDATE
        if overtook and _start_pending(entry.workflow_id):  # an update overtook its workflow's start
            _note_error(entry, f"{entry.workflow_id} is not started yet")
            raise DeliveryRetry(f"waiting for the start of {entry.workflow_id}") from exc
        if exc.status.name in PERMANENT_RPC_STATUSES:
            return _give_up(entry, f"{exc.status.name}: {exc.message}")
        _note_error(entry, f"{exc.status.name}: {exc.message}")
        raise DeliveryRetry(str(exc)) from exc
    except (RuntimeError, OSError, TimeoutError, RPCTimeoutOrCancelledError) as exc:  # refused, DNS, no answer
        _note_error(entry, f"{type(exc).__name__}: {exc}")
        raise DeliveryRetry(str(exc)) from exc
    TemporalOutbox.objects.filter(pk=entry.pk).update(
        delivered_at=timezone.now(),
        last_error="",
        result=result if isinstance(result, dict | list) else {"value": str(result)},
    )
    log.info("temporal.outbox_delivered", kind=entry.kind, workflow=entry.workflow_id, key=entry.idempotency_key)
    outbox_delivered.send(sender=TemporalOutbox, entry=entry)
    return True


def _note_error(entry: TemporalOutbox, error: str) -> None:
    TemporalOutbox.objects.filter(pk=entry.pk).update(last_error=error[:2000])
    log.warning("temporal.outbox_retry", key=entry.idempotency_key, error=error)


def _give_up(entry: TemporalOutbox, error: str) -> bool:
    TemporalOutbox.objects.filter(pk=entry.pk).update(gave_up_at=timezone.now(), last_error=error[:2000])
    log.error("temporal.outbox_gave_up", key=entry.idempotency_key, error=error)
    return True


def outbox_sweep(*, budget_seconds: float = 20.0) -> tuple[int, int]:
    """Deliver what is still pending (a lost task, a long Temporal outage), oldest first. An entry that
    cannot be delivered yet is left for the next sweep and the sweep goes on with the others; it stops
    when its time budget is spent (each attempt is bounded by the RPC timeout). Returns (delivered, left)."""
    import time

    deadline = time.monotonic() + budget_seconds
    delivered = left = 0
    for outbox_id in outbox_pending():
        if time.monotonic() > deadline:
            left += 1
            continue
        try:
            outbox_deliver(outbox_id)
            delivered += 1
        except DeliveryRetry:
            left += 1
    return delivered, left


def outbox_pending(older_than: timedelta = timedelta(seconds=10)) -> list[int]:
    """Entries not delivered yet (e.g. their task was lost, or Temporal was down), for the sweep."""
    cutoff = timezone.now() - older_than
    return list(
        TemporalOutbox.objects.filter(delivered_at__isnull=True, gave_up_at__isnull=True, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:500]
    )
