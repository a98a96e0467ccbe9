"""Outbox delivery never holds a Celery process waiting on Temporal: with nothing listening, a delivery
gives up within a couple of seconds (retried later) and the sweep tries every pending entry instead of
stopping at the first; with the server up but no worker, an update returns after the RPC timeout."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from ir_workflows.client import temporal_client
from ir_workflows.models import TemporalOutbox
from ir_workflows.outbox import DeliveryRetry, outbox_deliver, outbox_start, outbox_update
from ir_workflows.tasks import sweep_outbox
from tests.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def _rows(count: int) -> list[TemporalOutbox]:
    rows = [
        outbox_update(
            workflow_id=f"INC-{uuid.uuid4().hex[:6]}", update_name="add_note", update_id=f"u{n}", payload={"x": n}
        )
        for n in range(count)
    ]
    TemporalOutbox.objects.update(created_at=timezone.now() - timedelta(minutes=1))
    return rows


def test_with_nothing_listening_a_delivery_returns_at_once_and_the_sweep_moves_on():
    with override_settings(TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}"):
        first, *_ = _rows(3)
        started = time.monotonic()
        with pytest.raises(DeliveryRetry):
            outbox_deliver(first.pk)
        assert time.monotonic() - started < 2.0

        started = time.monotonic()
        assert sweep_outbox() == 0
        assert time.monotonic() - started < 4.0
    attempts = dict(TemporalOutbox.objects.values_list("pk", "attempts"))
    assert attempts[first.pk] == 2
    assert sorted(attempts.values()) == [1, 1, 2]  # every row was tried, none was waited on
    assert all(
        "Connection refused" in e or "connect" in e for e in TemporalOutbox.objects.values_list("last_error", flat=True)
    )


@pytest.mark.slow
def test_with_no_worker_an_update_is_not_waited_for(temporal_address):
    """The server answers but no worker runs the workflow: the update cannot be accepted; the delivery
    returns after the RPC timeout (it used to hold the process for 60 s)."""

    async def _ready() -> None:  # the dev server's frontend answers a moment after its port opens
        for _ in range(300):
            try:
                await temporal_client(address=temporal_address)
                return
            except RuntimeError:
                await asyncio.sleep(0.1)

    asyncio.run(_ready())
    task_queue = f"no-worker-{uuid.uuid4().hex[:8]}"
    workflow_id = f"INC-{uuid.uuid4().hex[:6]}"
    with override_settings(
        TEMPORAL_ADDRESS=temporal_address, TEMPORAL_TASK_QUEUE=task_queue, TEMPORAL_RPC_TIMEOUT_SECONDS=2
    ):
        start = outbox_start(
            workflow_type="KeyCompromiseIncident",
            workflow_id=workflow_id,
            payload={"incident": workflow_id, "keys": [], "severity": "low"},
        )
        assert outbox_deliver(start.pk)  # a start needs no worker
        update = outbox_update(
            workflow_id=workflow_id, update_name="add_note", update_id="n1", payload={"text": "x", "by": "y"}
        )
        started = time.monotonic()
        with pytest.raises(DeliveryRetry):
            outbox_deliver(update.pk)
        assert time.monotonic() - started < 5.0

        async def _terminate() -> None:
            client = await temporal_client(address=temporal_address)
            await client.get_workflow_handle(workflow_id).terminate("test over")

        asyncio.run(_terminate())
