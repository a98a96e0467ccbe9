"""Riding out outages on the time-skipping server: a ten-minute database failover is retried through
without a human (reported by the database-free path, and again once resumed); restriction runs as a
sliding window (one slow key holds only its own slot) and a lost activity is retried after its
heartbeat timeout, in seconds."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowUpdateFailedError
from temporalio.worker import Worker

from ir_workflows import retry
from ir_workflows.approvals.types import APPROVAL_DECISION_UPDATE, ApprovalDecisionUpdate
from ir_workflows.incident import types as t
from ir_workflows.incident.workflows import (
    KeyCompromiseIncidentWorkflow,
    KeyRestrictionBatchWorkflow,
    KeyRestrictionWorkflow,
)
from tests.ir_workflows.test_incident_workflow import KEYS, Fakes, _advance, _decide, _pending, _run, _wait_step


@pytest.mark.slow  # ~20 retries of the step, each a real activity attempt (about a minute here)
async def test_a_ten_minute_database_outage_is_ridden_out_and_reported_without_the_database(time_skipping_env):
    fakes = Fakes(outage=timedelta(minutes=10))
    worker, start = await _run(time_skipping_env, fakes)
    async with worker:
        handle = await start
        await _decide(handle, await _pending(handle, "confirm_compromise"))
        deadline = asyncio.get_running_loop().time() + 240
        while "stall-resumed" not in fakes.names():  # skip workflow time through the outage
            assert asyncio.get_running_loop().time() < deadline, fakes.calls
            await time_skipping_env.sleep(timedelta(minutes=4))
        await _wait_step(handle, "close")  # no human retry was needed
    names = fakes.names()
    failed = [value for name, value in fakes.calls if name == "hook-attempt-failed"]
    assert len(failed) > 6  # the old policy gave up after 6 attempts (about 31 s)
    stalls = [value for name, value in fakes.calls if name == "stall"]
    assert stalls
    assert stalls[0][0] == "notify"
    assert "incident_run_hooks" in stalls[0][1]
    assert names.index("stall") < names.index("stall-resumed") < names.index("step", names.index("stall-resumed"))
    # Re-reported on the incident (the database path) once the database answered again.
    told = [value for name, value in fakes.calls if name == "attention"]
    assert any("incident_run_hooks was stalled from" in message for message in told)
    assert [value for name, value in fakes.calls if name == "hook"] == ["notify", "regulatory"]


async def _restrict_batch(env, activities: list[Any], keys: list[str], window: int = 0) -> t.RestrictionBatchResult:
    task_queue = f"tq-{uuid.uuid4()}"
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[KeyRestrictionBatchWorkflow, KeyRestrictionWorkflow],
        activities=activities,
    ):
        result: t.RestrictionBatchResult = await env.client.execute_workflow(
            KeyRestrictionBatchWorkflow.run,
            t.RestrictionBatchInput("INC-W", keys, f"INC-W-{uuid.uuid4().hex[:6]}", window=window),
            id=f"batch-{uuid.uuid4()}",
            task_queue=task_queue,
        )
    return result


def _key_activities(restrict) -> list[Any]:
    @activity.defn(name=t.MARK_COMPROMISED_ACTIVITY)
    async def mark(task: t.KeyTaskInput) -> t.KeyTaskResult:
        return t.KeyTaskResult(task.key, "compromised")

    @activity.defn(name=t.STALL_ALERT_ACTIVITY)
    async def stall_alert(alert: t.StallAlertInput) -> t.StallAlertResult:
        return t.StallAlertResult(channels=["log"])

    return [mark, activity.defn(name=t.RESTRICT_KEY_ACTIVITY)(restrict), stall_alert]


async def test_one_slow_key_does_not_hold_the_others(time_skipping_env):
    """A window of two: the slow key holds one slot while the others pass through the other one, one at a
    time (in chunks, every key started at once, or the chunk waited for its slowest)."""
    keys = ["slow", "a", "b", "c", "d"]
    release = asyncio.Event()
    restricted: list[str] = []
    in_flight: list[int] = [0, 0]  # now, most

    async def restrict(task: t.KeyTaskInput) -> t.KeyTaskResult:
        in_flight[0] += 1
        in_flight[1] = max(in_flight)
        try:
            if task.key == "slow":
                while not release.is_set():
                    activity.heartbeat()
                    await asyncio.sleep(0.1)
            restricted.append(task.key)
            if len(restricted) == len(keys) - 1:
                release.set()  # every other key got through while the slow one held its slot
            return t.KeyTaskResult(task.key, "compromised", verified=True)
        finally:
            in_flight[0] -= 1

    result = await asyncio.wait_for(_restrict_batch(time_skipping_env, _key_activities(restrict), keys, window=2), 60)
    assert restricted[-1] == "slow"
    assert in_flight[1] == 2
    assert sorted(result.restricted) == sorted(keys)


async def test_a_lost_restriction_is_retried_after_its_heartbeat_timeout(time_skipping_env):
    """The first attempt hangs without a heartbeat (its worker is gone): retried after KEY_STEP_HEARTBEAT,
    not after the two-minute start-to-close timeout; the other keys went on meanwhile."""
    attempts: list[tuple[str, int, timedelta | None]] = []

    async def restrict(task: t.KeyTaskInput) -> t.KeyTaskResult:
        info = activity.info()
        attempts.append((task.key, info.attempt, info.heartbeat_timeout))
        if task.key == "lost" and info.attempt == 1:
            await asyncio.sleep(600)  # no heartbeat: as if the worker died
        return t.KeyTaskResult(task.key, "compromised", verified=True)

    started = time.monotonic()
    result = await asyncio.wait_for(
        _restrict_batch(time_skipping_env, _key_activities(restrict), ["lost", "a", "b"], window=2), 90
    )
    assert sorted(result.restricted) == ["a", "b", "lost"]
    assert ("lost", 2, retry.KEY_STEP_HEARTBEAT) in attempts
    assert retry.KEY_STEP_HEARTBEAT < timedelta(seconds=30) < retry.KEY_STEP_TIMEOUT
    assert time.monotonic() - started < 45


async def test_an_incident_waiting_to_close_continues_as_new_and_keeps_its_state(time_skipping_env):
    """Past its update threshold at the close step the incident continues as new (same id, a fresh
    history), with its keys, rewrap progress, notes and closed approvals; it then closes as usual, and a
    late decision for a request closed in the earlier run is refused for good."""
    fakes = Fakes()
    task_queue = f"tq-{uuid.uuid4()}"
    reference = f"INC-CAN-{uuid.uuid4().hex[:6]}"
    async with Worker(
        time_skipping_env.client,
        task_queue=task_queue,
        workflows=[KeyCompromiseIncidentWorkflow, KeyRestrictionBatchWorkflow, KeyRestrictionWorkflow],
        activities=fakes.activities(),
    ):
        handle = await time_skipping_env.client.start_workflow(
            KeyCompromiseIncidentWorkflow.run,
            t.IncidentInput(incident=reference, keys=KEYS, severity="high", updates_before_continue=3),
            id=reference,
            task_queue=task_queue,
        )
        confirm = await _pending(handle, "confirm_compromise")
        await _decide(handle, confirm)
        await _wait_step(handle, "close")
        first_run = (await handle.describe()).run_id
        for n in range(7):
            await handle.execute_update(t.ADD_NOTE_UPDATE, t.NoteUpdate(f"note {n}", "cmdr"), id=f"note-{n}")
        assert (await handle.describe()).run_id != first_run
        status = await handle.query(KeyCompromiseIncidentWorkflow.status)
        assert (status.step, status.notes) == ("close", 7)
        assert {k.key for k in status.keys if k.restricted} == {"k1", "k2", "k1-dek"}
        assert [(k.rewrapped, k.to_rewrap) for k in status.keys if k.key == "k1"] == [(100, 100)]
        late = ApprovalDecisionUpdate(confirm, str(uuid.uuid4()), "late", "security_lead", "approve")
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(APPROVAL_DECISION_UPDATE, late, id=late.decision_id)
        assert "already approved" in str(refused.value.cause)  # final, not "not open yet" (retried)
        await _advance(handle, "request_close", "keep_decrypt_only")
        await _decide(handle, await _pending(handle, "close_incident"))
        result = await handle.result()
    assert (result.resolution, result.restricted, result.rewrapped) == ("compromise", 3, 100)
    assert [value for name, value in fakes.calls if name == "close"] == [("compromise", "keep_decrypt_only")]
    assert fakes.names().count("contain") == 1  # the new run did not start the playbook again
