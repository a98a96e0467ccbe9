"""``PartyNotification``: one durable workflow per notification. Send on every channel; wait for the
acknowledgement up to the party's SLA (a durable timer); remind; after the last reminder's SLA, escalate.
Deterministic: no Django, no I/O; sends are activities (idempotent per delivery key)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from ir_workflows import retry
from ir_workflows.notifications.types import (
    ACKNOWLEDGED,
    ESCALATE_NOTIFICATION_ACTIVITY,
    ESCALATED,
    NOTIFICATION_ACKED_UPDATE,
    NOTIFICATION_STATUS_QUERY,
    NOTIFICATION_WORKFLOW,
    REMIND_NOTIFICATION_ACTIVITY,
    SEND_NOTIFICATION_ACTIVITY,
    SENT,
    AckUpdate,
    NotificationInput,
    NotificationResult,
    NotificationStatus,
    SendInput,
    SendResult,
)


@workflow.defn(name=NOTIFICATION_WORKFLOW)
class PartyNotificationWorkflow:
    @workflow.init
    def __init__(self, notification: NotificationInput) -> None:
        self._id = notification.notification_id
        self._state = SENT
        self._acked = False
        self._reminders = 0

    @workflow.query(name=NOTIFICATION_STATUS_QUERY)
    def status(self) -> NotificationStatus:
        return NotificationStatus(self._id, self._state, self._reminders)

    @workflow.update(name=NOTIFICATION_ACKED_UPDATE)
    def acknowledged(self, update: AckUpdate) -> str:
        self._acked = True
        return self._state

    @acknowledged.validator
    def _validate_ack(self, update: AckUpdate) -> None:
        if update.notification_id != self._id:
            raise ValueError("the ack names another notification")

    async def _send(self, activity_name: str, purpose: str, sequence: int) -> SendResult:
        try:
            result: SendResult = await workflow.execute_activity(
                activity_name,
                SendInput(self._id, purpose, sequence),
                result_type=SendResult,
                start_to_close_timeout=retry.NOTIFY_TIMEOUT,
                retry_policy=retry.PARTY_SEND,
            )
        except ActivityError as error:
            # Recorded on the delivery rows; the next reminder (or the escalation) tries again.
            workflow.logger.warning("notification %s: %s failed: %s", self._id, purpose, error.cause or error)
            return SendResult(self._id, acknowledged=False, delivered=0)
        if result.acknowledged:
            self._acked = True
        return result

    async def _acked_within(self, seconds: int) -> bool:
        try:
            await workflow.wait_condition(lambda: self._acked, timeout=timedelta(seconds=seconds))
        except TimeoutError:
            return False
        return True

    @workflow.run
    async def run(self, notification: NotificationInput) -> NotificationResult:
        await self._send(SEND_NOTIFICATION_ACTIVITY, "initial", 1)
        outcome = ESCALATED
        for sequence in range(1, notification.reminders + 2):
            if self._acked or await self._acked_within(notification.ack_sla_seconds):
                outcome = ACKNOWLEDGED
                break
            if sequence > notification.reminders:
                await self._send(ESCALATE_NOTIFICATION_ACTIVITY, "escalation", 1)
                outcome = ACKNOWLEDGED if self._acked else ESCALATED
                break
            await self._send(REMIND_NOTIFICATION_ACTIVITY, "reminder", sequence)
            if not self._acked:
                self._reminders = sequence
        self._state = outcome
        await workflow.wait_condition(workflow.all_handlers_finished)
        return NotificationResult(self._id, outcome, self._reminders)
