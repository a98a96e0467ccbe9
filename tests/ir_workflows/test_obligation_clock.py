"""The obligation clock on the time-skipping server: reminders at 50/75/90 % and at the due time,
escalation when breached, a corrected trigger moving the deadline, filing ending it — standalone and as
a child of the incident's workflow (started once however often it is asked)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from temporalio import activity
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from ir_workflows.incident.types import IncidentInput
from ir_workflows.incident.workflows import (
    KeyCompromiseIncidentWorkflow,
    KeyRestrictionBatchWorkflow,
    KeyRestrictionWorkflow,
)
from ir_workflows.regulatory.types import (
    CLOCK_CANCEL_UPDATE,
    CLOCK_FILED_UPDATE,
    CLOCK_MOVE_UPDATE,
    CLOCK_NOTICE_ACTIVITY,
    CLOCK_START_UPDATE,
    CLOCK_STATUS_QUERY,
    ClockCancel,
    ClockFiled,
    ClockInput,
    ClockMove,
    ClockNotice,
    ClockNoticeResult,
    ClockStart,
    ClockStartResult,
    ClockStatus,
)
from ir_workflows.regulatory.workflows import ObligationClockWorkflow
from tests.ir_workflows.test_incident_workflow import Fakes
from tests.servers import temporal_test_server_binary

# 72 h window: 50 % = 36 h, 75 % = 54 h, 90 % = 64 h 48 min, due = 72 h (reminder, then the escalation)
SCHEDULE_72H = [
    ("reminder", 0.5, 36 * 60),
    ("reminder", 0.75, 54 * 60),
    ("reminder", 0.9, 64 * 60 + 48),
    ("reminder", 1.0, 72 * 60),
    ("breached", 1.0, 72 * 60),
]


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
    assert recorder.offsets(start) == SCHEDULE_72H
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


async def _eventually(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Wait (real time, no skipping) for the worker to catch up with the skipped time."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, f"no {what}"
        await asyncio.sleep(0.05)


# --- the clock as a child of the incident's workflow ----------------------------------------------------
async def _incident_with_clock(env, recorder, trigger: datetime, due: datetime):
    """An incident workflow (fake playbook activities) asked to start a clock as its child."""
    task_queue = f"tq-{uuid.uuid4()}"
    worker = Worker(
        env.client,
        task_queue=task_queue,
        workflows=[
            KeyCompromiseIncidentWorkflow,
            KeyRestrictionBatchWorkflow,
            KeyRestrictionWorkflow,
            ObligationClockWorkflow,
        ],
        activities=[*Fakes().activities(), *recorder.activities()],
    )
    incident = await env.client.start_workflow(
        KeyCompromiseIncidentWorkflow.run,
        IncidentInput(incident="INC-2026-0001", keys=["k1"], severity="high"),
        id=f"incident-{uuid.uuid4()}",
        task_queue=task_queue,
    )
    clock = ClockInput(
        incident="INC-2026-0001", rule_id="EU-GDPR-33", trigger_at=trigger.isoformat(), due_at=due.isoformat()
    )
    request = ClockStart(workflow_id=f"clock-{uuid.uuid4()}", input=clock)
    return worker, incident, request


async def test_the_clock_runs_as_a_child_of_the_incident_workflow(clock_env):
    env, recorder = clock_env, Recorder()
    start = await _now(env)
    worker, incident, request = await _incident_with_clock(env, recorder, start, start + timedelta(hours=72))
    async with worker:
        started = await incident.execute_update(CLOCK_START_UPDATE, request, id="start-1", result_type=ClockStartResult)
        assert started == ClockStartResult(request.workflow_id, started=True)
        clock = env.client.get_workflow_handle_for(ObligationClockWorkflow.run, request.workflow_id)
        described = await clock.describe()
        assert (described.parent_id, described.workflow_type) == (incident.id, "ObligationClock")
        await env.sleep(timedelta(hours=73))
        await _eventually(lambda: any(kind == "breached" for kind, *_ in recorder.calls), "the escalation")
        status = await clock.query(CLOCK_STATUS_QUERY, result_type=ClockStatus)
        assert status.escalated is True
        await clock.execute_update(CLOCK_FILED_UPDATE, ClockFiled(filed_at="x", filing="f1"), id="filed-1")
        result = await clock.result()
        assert (await incident.describe()).status == WorkflowExecutionStatus.RUNNING
    assert recorder.offsets(start) == SCHEDULE_72H
    assert (result.outcome, result.escalated) == ("filed", True)


async def test_a_child_clock_moves_by_its_own_workflow_id(clock_env):
    env, recorder = clock_env, Recorder()
    start = await _now(env)
    worker, incident, request = await _incident_with_clock(env, recorder, start, start + timedelta(hours=72))
    async with worker:
        await incident.execute_update(CLOCK_START_UPDATE, request, id="start-1")
        clock = env.client.get_workflow_handle_for(ObligationClockWorkflow.run, request.workflow_id)
        await env.sleep(timedelta(hours=10))
        moved = ClockMove(
            trigger_at=(start - timedelta(hours=40)).isoformat(),
            due_at=(start + timedelta(hours=32)).isoformat(),
            reason="corrected aware_at",
        )
        assert await clock.execute_update(CLOCK_MOVE_UPDATE, moved, id="move-v2") == moved.due_at
        await env.sleep(timedelta(hours=23))
        await clock.execute_update(CLOCK_FILED_UPDATE, ClockFiled(filed_at="x", filing="f1"), id="filed-1")
        result = await clock.result()
    assert recorder.offsets(start) == [
        ("reminder", 0.5, 10 * 60),
        ("reminder", 0.75, 14 * 60),
        ("reminder", 0.9, 24 * 60 + 48),
        ("reminder", 1.0, 32 * 60),
        ("breached", 1.0, 32 * 60),
    ]
    assert result.outcome == "filed"


async def test_a_redelivered_start_is_a_no_op(clock_env):
    env, recorder = clock_env, Recorder()
    start = await _now(env)
    worker, incident, request = await _incident_with_clock(env, recorder, start, start + timedelta(hours=72))
    async with worker:
        first = await incident.execute_update(CLOCK_START_UPDATE, request, id="start-1", result_type=ClockStartResult)
        # the same update id (Temporal answers with the first result), then a new one (the workflow's own set)
        again = await incident.execute_update(CLOCK_START_UPDATE, request, id="start-1", result_type=ClockStartResult)
        other = await incident.execute_update(CLOCK_START_UPDATE, request, id="start-2", result_type=ClockStartResult)
        assert (first.started, again.started, other.started) == (True, True, False)
        # a clock already running under that id outside the incident (started standalone): not started again
        standalone = await env.client.start_workflow(
            ObligationClockWorkflow.run, request.input, id=f"clock-{uuid.uuid4()}", task_queue=worker.task_queue
        )
        existing = ClockStart(workflow_id=standalone.id, input=request.input)
        taken = await incident.execute_update(CLOCK_START_UPDATE, existing, id="start-3", result_type=ClockStartResult)
        assert taken == ClockStartResult(standalone.id, started=False)
        assert (await standalone.describe()).parent_id is None
        with pytest.raises(WorkflowUpdateFailedError):  # a request without a clock id is refused
            await incident.execute_update(CLOCK_START_UPDATE, ClockStart("", request.input), id="start-4")
        await env.sleep(timedelta(hours=37))
        await _eventually(lambda: len(recorder.calls) >= 2, "both 50 % reminders")  # a busy worker lags
        for handle in (env.client.get_workflow_handle(request.workflow_id), standalone):
            await handle.execute_update(CLOCK_CANCEL_UPDATE, ClockCancel(reason="test"), id="cancel-1")
            await handle.result()
    # one 50 % reminder per clock: the repeated requests started nothing more
    assert [(kind, fraction) for kind, fraction, *_ in recorder.calls] == [("reminder", 0.5), ("reminder", 0.5)]
