"""The stack-probe workflow: on the time-skipping server with a fake activity, and on the dev server
with the real activity writing to the database through a real worker."""

from __future__ import annotations

import uuid

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from temporalio import activity
from temporalio.worker import Worker

from ir_workflows.client import temporal_client
from ir_workflows.smoke.types import (
    RECORD_STACK_PROBE_ACTIVITY,
    RecordStackProbeInput,
    RecordStackProbeResult,
    StackProbeInput,
    StackProbeResult,
    stack_probe_workflow_id,
)
from ir_workflows.smoke.workflows import StackProbeWorkflow
from ir_workflows.worker import activity_executor, build_worker
from webapp.models import StackProbe


@activity.defn(name=RECORD_STACK_PROBE_ACTIVITY)
async def fake_record_stack_probe(probe: RecordStackProbeInput) -> RecordStackProbeResult:
    return RecordStackProbeResult(row_id=7, worker=f"fake:{probe.probe_id}")


async def test_workflow_on_time_skipping_server(time_skipping_env):
    task_queue = f"tq-{uuid.uuid4()}"
    async with Worker(
        time_skipping_env.client,
        task_queue=task_queue,
        workflows=[StackProbeWorkflow],
        activities=[fake_record_stack_probe],
    ):
        result = await time_skipping_env.client.execute_workflow(
            StackProbeWorkflow.run,
            StackProbeInput(probe_id="p1"),
            id=stack_probe_workflow_id("p1"),
            task_queue=task_queue,
        )
    assert result == StackProbeResult(probe_id="p1", row_id=7, worker="fake:p1")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
async def test_real_activity_writes_the_row_through_the_dev_server(temporal_address):
    client = await temporal_client(address=temporal_address)
    task_queue = f"tq-{uuid.uuid4()}"
    probe_id = uuid.uuid4().hex
    with activity_executor(4) as executor:
        async with build_worker(client, task_queue=task_queue, executor=executor):
            result = await client.execute_workflow(
                StackProbeWorkflow.run,
                StackProbeInput(probe_id=probe_id),
                id=stack_probe_workflow_id(probe_id),
                task_queue=task_queue,
            )
    row = await sync_to_async(_temporal_probe_row)(probe_id)
    assert result.row_id == row.pk


def _temporal_probe_row(probe_id: str) -> StackProbe:
    try:
        return StackProbe.objects.get(probe_id=probe_id, via="temporal")
    finally:
        connection.close()  # this thread is asgiref's, not the test's: leave no session behind
