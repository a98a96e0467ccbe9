"""Names, inputs and results of a notification's workflow: send, wait for the ack, remind, escalate.

Payloads carry ids and durations only: the message, its recipients and ack links stay in the database."""

from __future__ import annotations

from dataclasses import dataclass

NOTIFICATION_WORKFLOW = "PartyNotification"
NOTIFICATION_ACKED_UPDATE = "notification_acknowledged"
NOTIFICATION_STATUS_QUERY = "notification_status"
SEND_NOTIFICATION_ACTIVITY = "send_notification"
REMIND_NOTIFICATION_ACTIVITY = "remind_notification"
ESCALATE_NOTIFICATION_ACTIVITY = "escalate_notification"

SENT, ACKNOWLEDGED, ESCALATED = "sent", "acknowledged", "escalated"


def notification_workflow_id(notification_id: int) -> str:
    return f"notification-{notification_id}"


@dataclass(frozen=True, slots=True)
class NotificationInput:
    notification_id: int
    incident: str
    ack_sla_seconds: int
    reminders: int


@dataclass(frozen=True, slots=True)
class NotificationResult:
    notification_id: int
    outcome: str  # acknowledged or escalated
    reminders: int


@dataclass(frozen=True, slots=True)
class NotificationStatus:
    notification_id: int
    state: str  # sent, acknowledged, escalated
    reminders: int


@dataclass(frozen=True, slots=True)
class AckUpdate:
    """The ack was recorded in the database first; this only ends the wait early."""

    notification_id: int
    acked_by: str


@dataclass(frozen=True, slots=True)
class SendInput:
    notification_id: int
    purpose: str  # initial, reminder, escalation
    sequence: int = 1


@dataclass(frozen=True, slots=True)
class SendResult:
    notification_id: int
    acknowledged: bool  # already acknowledged: nothing was sent
    delivered: int  # channels that have this send (now or on an earlier attempt)
