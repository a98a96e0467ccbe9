"""The drill schedule lives in Temporal (dev server): created once, updated on the next worker start, and
a triggered run starts a drill through the real worker."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from django.test import override_settings

from evaluation.models import Drill
from ir_workflows.client import temporal_client
from ir_workflows.drills.schedule import drill_schedule_ensure
from ir_workflows.drills.types import DRILL_SCHEDULE_ID
from tests.temporal_helpers import RunningWorker, pump_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_the_schedule_is_ensured_and_a_triggered_run_starts_a_drill(temporal_address):
    task_queue = f"drill-schedule-{uuid.uuid4().hex[:8]}"

    async def ensure_twice_and_trigger() -> tuple[str, str, list[int]]:
        client = await temporal_client(address=temporal_address)
        first = await drill_schedule_ensure(client, cron="0 9 1 1,4,7,10 *", task_queue=task_queue)
        second = await drill_schedule_ensure(client, cron="0 10 1 1,4,7,10 *", task_queue=task_queue)
        handle = client.get_schedule_handle(DRILL_SCHEDULE_ID)
        described = await handle.describe()
        await handle.trigger()
        # the server keeps a cron expression as calendar specs: read the hour back
        hours = [r.start for c in described.schedule.spec.calendars for r in c.hour]
        return first, second, hours

    with (
        override_settings(TEMPORAL_ADDRESS=temporal_address, TEMPORAL_TASK_QUEUE=task_queue),
        RunningWorker(temporal_address, task_queue),
    ):
        first, second, hours = asyncio.run(ensure_twice_and_trigger())
        assert (first, second) == ("created", "updated")
        assert hours == [10]  # the update took
        started = Drill.objects.filter(started_via="schedule", incident__isnull=False)
        pump_until(started.exists, timeout=60, what="the drill")
    drill = Drill.objects.get()
    assert drill.incident is not None
    assert drill.incident.exercise
    assert drill.gate_refused is True

    async def cleanup() -> None:
        client = await temporal_client(address=temporal_address)
        await client.get_schedule_handle(DRILL_SCHEDULE_ID).delete()

    asyncio.run(cleanup())
