"""A notification's durable timers on the time-skipping server: an ack before the SLA stops everything,
one after a reminder stops the escalation, silence escalates after (reminders + 1) SLAs."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, Worker

from ir_workflows.notifications.types import (
    ESCALATE_NOTIFICATION_ACTIVITY,
    NOTIFICATION_ACKED_UPDATE,
    NOTIFICATION_STATUS_QUERY,
    NOTIFICATION_WORKFLOW,
    REMIND_NOTIFICATION_ACTIVITY,
    SEND_NOTIFICATION_ACTIVITY,
    AckUpdate,
    NotificationInput,
    NotificationResult,
    NotificationStatus,
    SendInput,
    SendResult,
    notification_workflow_id,
)
from ir_workflows.notifications.workflows import PartyNotificationWorkflow
from tests.notifications.conftest import own_time_skipping_env

SLA = 3600

__all__ = ["own_time_skipping_env"]  # a server of this module's own (see the fixture)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[int, str, int, datetime]] = []

    def activities(self):
        def record(send: SendInput) -> SendResult:
            self.calls.append((send.notification_id, send.purpose, send.sequence, activity.info().scheduled_time))
            return SendResult(send.notification_id, acknowledged=False, delivered=1)

        @activity.defn(name=SEND_NOTIFICATION_ACTIVITY)
        async def send(send: SendInput) -> SendResult:
            return record(send)

        @activity.defn(name=REMIND_NOTIFICATION_ACTIVITY)
        async def remind(send: SendInput) -> SendResult:
            return record(send)

        @activity.defn(name=ESCALATE_NOTIFICATION_ACTIVITY)
        async def escalate(send: SendInput) -> SendResult:
            return record(send)

        return [send, remind, escalate]

    def offsets(self, notification_id: int, start: datetime) -> list[tuple[str, int]]:
        return [
            (purpose, round((at - start).total_seconds() / 60))
            for nid, purpose, _, at in self.calls
            if nid == notification_id
        ]


async def _until(condition, what: str) -> None:
    """Real time: activities run on the wall clock while the server's clock stands still."""
    for _ in range(300):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def _now(env) -> datetime:
    now: datetime = await env.get_current_time()
    return now if now.tzinfo else now.replace(tzinfo=UTC)


async def _start(env, task_queue: str, notification_id: int, reminders: int = 1):
    return await env.client.start_workflow(
        PartyNotificationWorkflow.run,
        NotificationInput(notification_id, "INC-2026-0001", ack_sla_seconds=SLA, reminders=reminders),
        id=f"{notification_workflow_id(notification_id)}-{uuid.uuid4()}",
        task_queue=task_queue,
    )


async def test_ack_reminder_and_escalation_fire_on_time(own_time_skipping_env):
    env, recorder, task_queue = own_time_skipping_env, Recorder(), f"tq-{uuid.uuid4()}"
    start = await _now(env)
    async with Worker(
        env.client, task_queue=task_queue, workflows=[PartyNotificationWorkflow], activities=recorder.activities()
    ):
        acks, reminded, silent = (
            await _start(env, task_queue, 1),
            await _start(env, task_queue, 2),
            await _start(env, task_queue, 3, reminders=2),
        )
        await acks.execute_update(NOTIFICATION_ACKED_UPDATE, AckUpdate(1, "Dana"), id="ack-1")
        await _until(lambda: len(recorder.calls) == 3, "the three initial sends")
        # Time is advanced explicitly (other tests may leave workflows whose pending work stops the
        # server from skipping on its own).
        await env.sleep(timedelta(seconds=SLA + 600))  # past the first SLA: reminders went out
        await _until(lambda: len(recorder.calls) == 5, "two reminders")
        status = await reminded.query(NOTIFICATION_STATUS_QUERY, result_type=NotificationStatus)
        assert status.reminders == 1
        await reminded.execute_update(NOTIFICATION_ACKED_UPDATE, AckUpdate(2, "ops"), id="ack-2")
        await env.sleep(timedelta(seconds=SLA))  # the second reminder to the silent party
        await _until(lambda: len(recorder.calls) == 6, "the second reminder")
        await env.sleep(timedelta(seconds=SLA))  # and its escalation
        results = [await acks.result(), await reminded.result(), await silent.result()]

    assert [(r.outcome, r.reminders) for r in results] == [("acknowledged", 0), ("acknowledged", 1), ("escalated", 2)]
    assert recorder.offsets(1, start) == [("initial", 0)]
    assert recorder.offsets(2, start) == [("initial", 0), ("reminder", 60)]
    assert recorder.offsets(3, start) == [("initial", 0), ("reminder", 60), ("reminder", 120), ("escalation", 180)]
    assert [seq for nid, purpose, seq, _ in recorder.calls if nid == 3 and purpose == "reminder"] == [1, 2]


async def test_an_ack_seen_by_an_activity_ends_the_wait(own_time_skipping_env):
    """The ack reached the database but its update was lost: the reminder activity says so and stops."""
    env, task_queue = own_time_skipping_env, f"tq-{uuid.uuid4()}"
    purposes: list[str] = []

    @activity.defn(name=SEND_NOTIFICATION_ACTIVITY)
    async def send(send: SendInput) -> SendResult:
        purposes.append(send.purpose)
        return SendResult(send.notification_id, acknowledged=False, delivered=1)

    @activity.defn(name=REMIND_NOTIFICATION_ACTIVITY)
    async def remind(send: SendInput) -> SendResult:
        purposes.append(send.purpose)
        return SendResult(send.notification_id, acknowledged=True, delivered=0)

    @activity.defn(name=ESCALATE_NOTIFICATION_ACTIVITY)
    async def escalate(send: SendInput) -> SendResult:
        purposes.append(send.purpose)
        return SendResult(send.notification_id, acknowledged=False, delivered=1)

    async with Worker(
        env.client, task_queue=task_queue, workflows=[PartyNotificationWorkflow], activities=[send, remind, escalate]
    ):
        handle = await _start(env, task_queue, 7)
        await _until(lambda: purposes == ["initial"], "the initial send")
        await env.sleep(timedelta(seconds=SLA + 60))
        result = await handle.result()
    assert (result.outcome, purposes) == ("acknowledged", ["initial", "reminder"])


HISTORY = Path(__file__).parent / "histories" / "notifications" / "party-notification-v1.json"


async def record_history(env) -> str:
    """A silent party (one reminder, then escalation): the history the replay test keeps."""
    recorder, task_queue = Recorder(), f"tq-{uuid.uuid4()}"
    async with Worker(
        env.client, task_queue=task_queue, workflows=[PartyNotificationWorkflow], activities=recorder.activities()
    ):
        handle = await env.client.start_workflow(
            PartyNotificationWorkflow.run,
            NotificationInput(9, "INC-REPLAY", ack_sla_seconds=SLA, reminders=1),
            id="replay-party-notification-v1",
            task_queue=task_queue,
        )
        for calls in (1, 2, 3):
            await _until(lambda calls=calls: len(recorder.calls) == calls, f"activity {calls}")
            if calls < 3:
                await env.sleep(timedelta(seconds=SLA + 60))
        await handle.result()
        history = await handle.fetch_history()
    return str(history.to_json())


async def test_recorded_history_replays_against_the_current_code():
    """Changes to the workflow's commands must go through ``workflow.patched`` (this history is v1's)."""
    history = WorkflowHistory.from_json("replay-party-notification-v1", HISTORY.read_text())
    result = await Replayer(workflows=[PartyNotificationWorkflow]).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert result.replay_failure is None, result.replay_failure


@workflow.defn(name=NOTIFICATION_WORKFLOW)
class UnguardedChange(PartyNotificationWorkflow):
    """Escalating straight away, without ``workflow.patched``: v1's history must not replay on it."""

    @workflow.run
    async def run(self, notification: NotificationInput) -> NotificationResult:
        await self._send(ESCALATE_NOTIFICATION_ACTIVITY, "escalation", 1)
        return NotificationResult(self._id, "escalated", 0)


async def test_an_unguarded_change_is_caught():
    history = WorkflowHistory.from_json("replay-party-notification-v1", HISTORY.read_text())
    # Unsandboxed: this test module imports Django (its fixtures); the workflow code itself does not.
    replayer = Replayer(workflows=[UnguardedChange], workflow_runner=UnsandboxedWorkflowRunner())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is not None
