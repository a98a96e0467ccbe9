"""Activities of a notification: thin calls into the notifications services (on the worker's thread pool).
A transient channel failure raises (the retry policy backs off); a permanent one is a BusinessError."""

from __future__ import annotations

from temporalio import activity

from ir_workflows.incident.activities import django_activity
from ir_workflows.notifications.types import (
    ESCALATE_NOTIFICATION_ACTIVITY,
    REMIND_NOTIFICATION_ACTIVITY,
    SEND_NOTIFICATION_ACTIVITY,
    SendInput,
    SendResult,
)
from notifications.services import delivery
from notifications.services.delivery import SendOutcome


def _result(send: SendInput, outcome: SendOutcome) -> SendResult:
    return SendResult(send.notification_id, acknowledged=outcome.acknowledged, delivered=outcome.delivered)


@activity.defn(name=SEND_NOTIFICATION_ACTIVITY)
@django_activity
def send_notification(send: SendInput) -> SendResult:
    return _result(send, delivery.notification_send(notification_id=send.notification_id, purpose=send.purpose))


@activity.defn(name=REMIND_NOTIFICATION_ACTIVITY)
@django_activity
def remind_notification(send: SendInput) -> SendResult:
    return _result(send, delivery.notification_remind(notification_id=send.notification_id, sequence=send.sequence))


@activity.defn(name=ESCALATE_NOTIFICATION_ACTIVITY)
@django_activity
def escalate_notification(send: SendInput) -> SendResult:
    return _result(send, delivery.notification_escalate(notification_id=send.notification_id))


NOTIFICATION_ACTIVITIES = (send_notification, remind_notification, escalate_notification)
