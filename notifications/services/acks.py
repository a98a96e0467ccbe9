"""Acknowledgements: single-use, expiring links (only their hash is stored) and the inbox button."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.actors import Actor
from audit.services import audit_record
from notifications.errors import AckTokenInvalid, NotificationNotFound
from notifications.models import AckToken, Notification

INVALID = "This acknowledgement link is not valid: it is unknown, has expired or was already used."


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ack_token_issue(notification: Notification) -> tuple[str, datetime]:
    """A fresh link for one send; the raw token leaves in the message and is never stored."""
    token = secrets.token_urlsafe(32)
    expires_at = timezone.now() + timedelta(days=settings.SEQUESTER_ACK_LINK_DAYS)
    AckToken.objects.create(notification=notification, token_hash=token_hash(token), expires_at=expires_at)
    return token, expires_at


def _live_token(token: str) -> AckToken:
    rows = AckToken.objects.select_related("notification__party", "notification__incident")
    row = rows.select_for_update(of=("self",)).filter(token_hash=token_hash(token)).first() if token else None
    if row is None or row.used_at is not None or row.expires_at <= timezone.now():
        raise AckTokenInvalid(INVALID)
    if row.notification.acked_at is not None:
        raise AckTokenInvalid(INVALID)
    return row


def _record(notification_id: int, *, acked_by: str, via: str, actor: Actor) -> Notification:
    from ir_workflows.notifications.types import NOTIFICATION_ACKED_UPDATE, AckUpdate
    from ir_workflows.outbox import outbox_update

    notification = (
        Notification.objects.select_for_update(of=("self",)).select_related("party", "incident").get(pk=notification_id)
    )
    if notification.acked_at is not None:
        raise AckTokenInvalid(INVALID)
    notification.acked_at = timezone.now()
    notification.acked_by = acked_by[:200]
    notification.acked_from = actor.source_ip
    notification.status = Notification.Status.ACKNOWLEDGED
    notification.save(update_fields=["acked_at", "acked_by", "acked_from", "status"])
    late = notification.ack_due_at is not None and notification.acked_at > notification.ack_due_at
    audit_record(
        action="notification.acknowledged",
        actor=actor,
        subject_type="notification",
        subject_id=notification.idempotency_key,
        reason=f"{notification.party.name} acknowledged via {via}" + (" (after its SLA)" if late else ""),
        incident=notification.incident.reference,
        data={"party": notification.party.name, "acked_by": notification.acked_by, "via": via, "late": late},
    )
    if notification.workflow_id:
        outbox_update(
            workflow_id=notification.workflow_id,
            update_name=NOTIFICATION_ACKED_UPDATE,
            update_id=f"ack-{notification.pk}",
            payload=AckUpdate(notification_id=notification.pk, acked_by=notification.acked_by),
        )
    return notification


@transaction.atomic
def notification_acknowledge_by_token(
    *, token: str, name: str, source_ip: str | None, user_agent: str = ""
) -> Notification:
    """Anyone holding the link acknowledges once; the token is spent in the same transaction."""
    row = _live_token(token)
    row.used_at = timezone.now()
    row.save(update_fields=["used_at"])
    party = row.notification.party.name
    who = f"{name.strip()[:150] or 'unnamed recipient'} ({party})"
    actor = Actor(name=f"ack-link:{party}"[:150], type="user", source_ip=source_ip, user_agent=user_agent[:300])
    return _record(row.notification_id, acked_by=who, via="link", actor=actor)


@transaction.atomic
def notification_acknowledge_in_inbox(*, notification_id: int, user: Any, actor: Actor) -> Notification:
    """A member of an internal party acknowledges from the Sequester inbox."""
    if not Notification.objects.filter(pk=notification_id, party__members=user).exists():
        raise NotificationNotFound("no such notification in your inbox")
    return _record(notification_id, acked_by=user.get_username(), via="inbox", actor=actor)
