"""The obligation clock on the time-skipping server: reminders at 50/75/90 % and at the due time,
escalation when breached, a corrected trigger moving the deadline, filing ending it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from temporalio import activity
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from ir_workflows.regulatory.types import (
    CLOCK_FILED_UPDATE,
    CLOCK_MOVE_UPDATE,
    CLOCK_NOTICE_ACTIVITY,
    CLOCK_STATUS_QUERY,
    ClockFiled,
    ClockInput,
    ClockMove,
    ClockNotice,
    ClockNoticeResult,
    ClockStatus,
)
from ir_workflows.regulatory.workflows import ObligationClockWorkflow
from tests.servers import temporal_test_server_binary


@pytest.fixture(scope="module")
async def clock_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of our own: workflows other tests leave waiting would slow its skips."""
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=temporal_test_server_binary())
    try:
        yield env
    finally:
        await env.shutdown()


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, float, datetime, str]] = []

    def activities(self):
        @activity.defn(name=CLOCK_NOTICE_ACTIVITY)
        async def notice(notice: ClockNotice) -> ClockNoticeResult:
            self.calls.append((notice.kind, notice.fraction, activity.info().scheduled_time, notice.due_at))
            return ClockNoticeResult(sent=1)

        return [notice]

    def offsets(self, start: datetime) -> list[tuple[str, float, int]]:
        return [(kind, fraction, round((at - start).total_seconds() / 60)) for kind, fraction, at, _ in self.calls]


async def _now(env) -> datetime:
    now: datetime = await env.get_current_time()
    return now if now.tzinfo else now.replace(tzinfo=UTC)


async def _start(env, recorder, trigger: datetime, due: datetime):
    task_queue = f"tq-{uuid.uuid4()}"
    worker = Worker(
        env.client, task_queue=task_queue, workflows=[ObligationClockWorkflow], activities=recorder.activities()
    )
    clock = ClockInput(
        incident="INC-2026-0001", rule_id="EU-GDPR-33", trigger_at=trigger.isoformat(), due_at=due.isoformat()
    )
    handle = await env.client.start_workflow(
        ObligationClockWorkflow.run, clock, id=f"clock-{uuid.uuid4()}", task_queue=task_queue
    )
    return worker, handle


async def test_reminders_and_escalation_fire_at_the_right_instants(clock_env):
    env, recorder = clock_env, Recorder()
    start = await _now(env)
    worker, handle = await _start(env, recorder, start, start + timedelta(hours=72))
    async with worker:
        await env.sleep(timedelta(hours=73))
        status = await handle.query(CLOCK_STATUS_QUERY, result_type=ClockStatus)
        assert status.escalated is True
        assert (
            await handle.execute_update(CLOCK_FILED_UPDATE, ClockFiled(filed_at="x", filing="f1"), id="filed-1")
            == "filed"
        )
        result = await handle.result()
    # 72 h window: 50 % = 36 h, 75 % = 54 h, 90 % = 64 h 48 min, due = 72 h (reminder, then the escalation)
    assert recorder.offsets(start) == [
        ("reminder", 0.5, 36 * 60),
        ("reminder", 0.75, 54 * 60),
        ("reminder", 0.9, 64 * 60 + 48),
        ("reminder", 1.0, 72 * 60),
        ("breached", 1.0, 72 * 60),
    ]
    assert (result.outcome, result.escalated) == ("filed", True)


async def test_a_corrected_trigger_moves_the_deadline(clock_env):
    env, recorder = clock_env, Recorder()
    start = await _now(env)
    worker, handle = await _start(env, recorder, start, start + timedelta(hours=72))
    async with worker:
        await env.sleep(timedelta(hours=10))
        # awareness was 40 h earlier than first recorded: due 32 h after start; 50 % (-4 h) and 75 % (+14 h)...
        moved = ClockMove(
            trigger_at=(start - timedelta(hours=40)).isoformat(),
            due_at=(start + timedelta(hours=32)).isoformat(),
            reason="corrected aware_at",
        )
        await handle.execute_update(CLOCK_MOVE_UPDATE, moved, id="move-v2")
        await env.sleep(timedelta(hours=23))
        await handle.execute_update(CLOCK_FILED_UPDATE, ClockFiled(filed_at="x", filing="f1"), id="filed-1")
        result = await handle.result()
    # new window -40 h .. +32 h (72 h): 50 % = -4 h (passed: caught up at once, at +10 h), 75 % = +14 h,
    # 90 % = +24 h 48 min, due = +32 h (reminder and escalation)
    assert recorder.offsets(start) == [
        ("reminder", 0.5, 10 * 60),
        ("reminder", 0.75, 14 * 60),
        ("reminder", 0.9, 24 * 60 + 48),
        ("reminder", 1.0, 32 * 60),
        ("breached", 1.0, 32 * 60),
    ]
    assert {due for *_, due in recorder.calls} == {(start + timedelta(hours=32)).isoformat()}
    assert result.outcome == "filed"


async def test_filed_early_ends_the_clock_quietly(clock_env):
    env, recorder = clock_env, Recorder()
    start = await _now(env)
    worker, handle = await _start(env, recorder, start, start + timedelta(hours=72))
    async with worker:
        await env.sleep(timedelta(hours=1))
        with pytest.raises(WorkflowUpdateFailedError):  # a due time before its trigger is refused
            await handle.execute_update(
                CLOCK_MOVE_UPDATE,
                ClockMove(trigger_at=start.isoformat(), due_at=(start - timedelta(hours=1)).isoformat(), reason="x"),
                id="bad-move",
            )
        await handle.execute_update(CLOCK_FILED_UPDATE, ClockFiled(filed_at="x", filing="f1"), id="filed-1")
        result = await handle.result()
    assert recorder.calls == []
    assert (result.outcome, result.escalated, result.notified) == ("filed", False, [])
