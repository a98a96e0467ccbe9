"""Long-lived workflows and Temporal's limit of updates per execution (``history.maxTotalUpdates``, 2000 by
default; lowered to 8 on a dev server of this test's own): an obligation clock that keeps taking updates
continues as new before it reaches the limit (its own count, or the server's suggestion), keeps its state,
and every update is accepted; a workflow that never continues is refused once past it (the limit is real)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from temporalio import workflow
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from ir_workflows.client import temporal_client
from ir_workflows.regulatory.types import CLOCK_MOVE_UPDATE, CLOCK_STATUS_QUERY, ClockInput, ClockMove, ClockStatus
from ir_workflows.regulatory.workflows import ObligationClockWorkflow
from tests.ir_workflows.test_obligation_clock import Recorder
from tests.servers import temporal_dev_server

pytestmark = pytest.mark.slow
LIMIT = 8


@pytest.fixture(scope="module")
def limited_server() -> Iterator[str]:
    with temporal_dev_server(extra_args=["--dynamic-config-value", f"history.maxTotalUpdates={LIMIT}"]) as address:
        yield address


async def _connect(address: str) -> Client:
    for _ in range(300):  # the frontend answers a moment after the port opens
        try:
            return await temporal_client(address=address)
        except RuntimeError:
            await asyncio.sleep(0.1)
    return await temporal_client(address=address)


async def _moves(address: str, *, updates_before_continue: int, count: int) -> tuple[int, set[str], ClockStatus]:
    client = await _connect(address)
    task_queue = f"limit-{uuid.uuid4().hex[:8]}"
    trigger = datetime.now(UTC)
    clock = ClockInput(
        incident="INC-LIMIT",
        rule_id="EU-GDPR-33",
        trigger_at=trigger.isoformat(),
        due_at=(trigger + timedelta(days=30)).isoformat(),
        updates_before_continue=updates_before_continue,
    )
    async with Worker(
        client, task_queue=task_queue, workflows=[ObligationClockWorkflow], activities=Recorder().activities()
    ):
        handle = await client.start_workflow(
            ObligationClockWorkflow.run, clock, id=f"clock-{uuid.uuid4().hex[:8]}", task_queue=task_queue
        )
        accepted = 0
        runs = set()
        for n in range(count):
            due = trigger + timedelta(days=30, hours=n + 1)
            move = ClockMove(trigger_at=trigger.isoformat(), due_at=due.isoformat(), reason=f"move {n}")
            try:
                await client.get_workflow_handle(handle.id).execute_update(
                    CLOCK_MOVE_UPDATE, move, id=f"move-{n}", rpc_timeout=timedelta(seconds=10)
                )
            except (WorkflowUpdateFailedError, RPCError):
                break
            accepted += 1
            runs.add((await client.get_workflow_handle(handle.id).describe()).run_id)
        status = await client.get_workflow_handle(handle.id).query(CLOCK_STATUS_QUERY, result_type=ClockStatus)
        await client.get_workflow_handle(handle.id).terminate("test over")
    return accepted, runs, status


def test_a_clock_continues_as_new_before_the_update_limit(limited_server):
    count = 3 * LIMIT
    started = datetime.now(UTC)
    accepted, runs, status = asyncio.run(_moves(limited_server, updates_before_continue=LIMIT // 2, count=count))
    assert accepted == count
    assert len(runs) >= count // (LIMIT // 2) - 1  # a fresh history every few updates
    trigger = datetime.fromisoformat(status.due_at) - timedelta(days=30, hours=count)  # the last move is in force
    assert abs(trigger - started) < timedelta(minutes=5)
    assert status.notified == []
    assert status.outcome == ""


def test_the_servers_suggestion_alone_continues_a_clock(limited_server):
    accepted, runs, _ = asyncio.run(_moves(limited_server, updates_before_continue=10 * LIMIT, count=3 * LIMIT))
    assert accepted == 3 * LIMIT
    assert len(runs) > 1


@workflow.defn(name="NeverContinues")
class NeverContinues:
    def __init__(self) -> None:
        self.count = 0

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.update
    def bump(self) -> int:
        self.count += 1
        return self.count


async def _bumps(address: str, count: int) -> int:
    client = await _connect(address)
    task_queue = f"never-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client, task_queue=task_queue, workflows=[NeverContinues], workflow_runner=UnsandboxedWorkflowRunner()
    ):
        handle = await client.start_workflow(
            NeverContinues.run, id=f"never-{uuid.uuid4().hex[:8]}", task_queue=task_queue
        )
        accepted = 0
        for n in range(count):
            try:
                await handle.execute_update(NeverContinues.bump, id=f"bump-{n}", rpc_timeout=timedelta(seconds=10))
            except (WorkflowUpdateFailedError, RPCError):
                break
            accepted += 1
        await handle.terminate("test over")
    return accepted


def test_without_continuing_the_limit_refuses_updates(limited_server):
    assert asyncio.run(_bumps(limited_server, 3 * LIMIT)) == LIMIT
