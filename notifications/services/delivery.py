"""Sending a notification on each of its party's channels, once per delivery key, and its reminders and
escalation. A delivery is claimed (compare-and-set) before it is sent and marked sent after: a retried
activity skips what an earlier attempt delivered, and two attempts never send the same delivery at once."""

from __future__ import annotations

import hashlib
import json
import smtplib
import uuid
from dataclasses import dataclass
from datetime import timedelta

import structlog
from django.conf import settings
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from audit.actors import Actor
from audit.chain import timestamp
from audit.services import audit_record
from notifications.audiences import PURPOSE_PREFIX
from notifications.errors import NotificationNotFound
from notifications.models import Channel, Contact, Delivery, Notification
from notifications.services.acks import ack_token_issue, token_hash
from notifications.services.messages import ACK_PLACEHOLDER
from notifications.transports import TRANSPORTS, Outgoing, TransportError
from webapp.errors import Conflict

log = structlog.get_logger(__name__)
SENDER = Actor.system("notifications")
CLAIM_STALE_AFTER = timedelta(minutes=5)  # a sender that crashed mid-send gives its claim up after this
INBOX_ACK = "(acknowledge in the Sequester inbox)"


class NotApproved(Conflict):
    code = "notification_not_approved"


class SendFailed(Conflict):
    """Every channel failed for good (address refused, 4xx): retrying cannot help."""

    code = "notification_send_failed"


class SendRetry(Exception):
    """A channel failed in a way a later attempt may fix (SMTP down, 5xx, timeout)."""


@dataclass(frozen=True, slots=True)
class SendOutcome:
    acknowledged: bool
    delivered: int
    failures: list[str]


def _notification(notification_id: int) -> Notification:
    notification = Notification.objects.select_related("party", "incident").filter(pk=notification_id).first()
    if notification is None:
        raise NotificationNotFound(f"no notification {notification_id}")
    return notification


def _delivery_for(notification: Notification, channel: Channel, purpose: str, sequence: int) -> Delivery:
    delivery, _ = Delivery.objects.get_or_create(
        idempotency_key=f"{notification.idempotency_key}:{channel.pk}:{purpose}:{sequence}",
        defaults={
            "notification": notification,
            "channel": channel,
            "purpose": purpose,
            "sequence": sequence,
            "message_id": f"msg_{uuid.uuid4().hex}",
        },
    )
    return delivery


def _claim(delivery: Delivery) -> bool:
    now = timezone.now()
    free = Q(status__in=[Delivery.Status.PENDING, Delivery.Status.FAILED]) | Q(
        status=Delivery.Status.SENDING, claimed_at__lt=now - CLAIM_STALE_AFTER
    )
    claimed = (
        Delivery.objects.filter(pk=delivery.pk)
        .filter(free)
        .update(status=Delivery.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )
    return claimed == 1


def _recipients(notification: Notification, purpose: str) -> list[str]:
    contacts = Contact.objects.filter(party=notification.party)
    if purpose != Delivery.Purpose.ESCALATION:
        contacts = contacts.filter(escalation=False)
    return sorted(set(contacts.values_list("email", flat=True)))


def _outgoing(notification: Notification, channel: Channel, delivery: Delivery) -> tuple[Outgoing, str]:
    """What goes out on ``channel``, and its acknowledgement token ("" for the inbox)."""
    purpose = delivery.purpose
    token = ""
    if channel.kind == Channel.Kind.INBOX:
        ack_url, expires = INBOX_ACK, None
    else:
        token, expires = ack_token_issue(notification)
        ack_url = settings.SEQUESTER_BASE_URL.rstrip("/") + reverse("notification-ack") + "#" + token
    subject = PURPOSE_PREFIX[purpose] + notification.subject
    intro = ""
    if purpose == Delivery.Purpose.REMINDER:
        intro = "We have not received your acknowledgement yet. Please confirm you received this message.\n\n"
    elif purpose == Delivery.Purpose.ESCALATION:
        intro = "This message was not acknowledged within the agreed time and is escalated to you.\n\n"
    payload = {
        "type": f"key_status.{purpose}",
        "timestamp": timestamp(timezone.now()),
        "data": {
            "notification": notification.idempotency_key,
            "message": notification.message,
            "purpose": purpose,
            "sequence": delivery.sequence,
            "subject": subject,
            "ack_url": ack_url,
            "ack_expires_at": timestamp(expires) if expires else None,
            **notification.facts,
        },
    }
    outgoing = Outgoing(
        message_id=delivery.message_id,
        subject=subject,
        body=intro + notification.body.replace(ACK_PLACEHOLDER, ack_url),
        payload=payload,
        recipients=_recipients(notification, purpose),
    )
    return outgoing, token


def as_recorded(outgoing: Outgoing, channel: Channel, token: str) -> str:
    """The message as the party received it — the email's subject and text, or the webhook's JSON body —
    with the single-use ack token replaced by its SHA-256 (the token is a credential; its hash is what
    the database keeps). This text and its digest go on the audit trail and into the case file."""
    if channel.kind == Channel.Kind.WEBHOOK:
        text = json.dumps(outgoing.payload, separators=(",", ":"), sort_keys=True)
    else:
        text = f"Subject: {outgoing.subject}\n\n{outgoing.body}"
    return text.replace(token, f"[ack token, SHA-256 {token_hash(token)}]") if token else text


def _audit(notification: Notification, delivery: Delivery, action: str, reason: str, **data: object) -> None:
    audit_record(
        action=action,
        actor=SENDER,
        subject_type="notification",
        subject_id=notification.idempotency_key,
        reason=reason,
        incident=notification.incident.reference,
        data={
            "party": notification.party.name,
            "channel": delivery.channel.kind,
            "purpose": delivery.purpose,
            "sequence": delivery.sequence,
            "message_id": delivery.message_id,
            **data,
        },
    )


def _deliver(notification: Notification, channel: Channel, delivery: Delivery) -> str | None:
    """Send one claimed delivery; the error text when it failed."""
    outgoing, token = _outgoing(notification, channel, delivery)
    try:
        received = TRANSPORTS[channel.kind].send(channel, outgoing)
    except TransportError as exc:
        Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.FAILED, last_error=exc.message[:2000])
        _audit(
            notification,
            delivery,
            "notification.delivery_failed",
            exc.message,
            permanent=exc.permanent,
        )
        return ("permanent: " if exc.permanent else "") + f"{channel.kind}: {exc.message}"
    body = as_recorded(outgoing, channel, token)
    digest = hashlib.sha256(body.encode()).hexdigest()
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.SENT,
        sent_at=timezone.now(),
        recipients=received,
        last_error="",
        body=body,
        body_sha256=digest,
    )
    _audit(
        notification,
        delivery,
        f"notification.{delivery.purpose}_sent",
        f"{delivery.get_purpose_display().lower()} sent to {notification.party.name} by {channel.kind}",
        recipients=received,
        message=notification.message,
        body=body,
        body_sha256=digest,
    )
    return None


def notification_send(*, notification_id: int, purpose: str, sequence: int = 1) -> SendOutcome:
    """Send (or finish sending) one purpose of a notification on every active channel of its party."""
    notification = _notification(notification_id)
    if notification.status in (Notification.Status.DRAFT, Notification.Status.CANCELLED):
        raise NotApproved(f"notification {notification.idempotency_key} is {notification.status}, not approved")
    if purpose != Delivery.Purpose.INITIAL and notification.acked_at is not None:
        return SendOutcome(acknowledged=True, delivered=0, failures=[])
    delivered, failures = 0, []
    for channel in notification.party.channels.filter(active=True).order_by("pk"):
        delivery = _delivery_for(notification, channel, purpose, sequence)
        if delivery.status == Delivery.Status.SENT:
            delivered += 1
            continue
        if not _claim(delivery):
            failures.append(f"{channel.kind}: being sent by another attempt")
            continue
        error = _deliver(notification, channel, delivery)
        if error is None:
            delivered += 1
        else:
            failures.append(error)
    if purpose == Delivery.Purpose.INITIAL and delivered:
        now = timezone.now()
        Notification.objects.filter(pk=notification.pk, status=Notification.Status.APPROVED).update(
            status=Notification.Status.SENT,
            sent_at=now,
            ack_due_at=now + timedelta(minutes=notification.party.ack_sla_minutes),
        )
    if any(not f.startswith("permanent: ") for f in failures):
        raise SendRetry("; ".join(failures))
    if failures and not delivered:
        raise SendFailed("; ".join(failures))
    acked = Notification.objects.filter(pk=notification.pk, acked_at__isnull=False).exists()
    return SendOutcome(acknowledged=acked, delivered=delivered, failures=failures)


def notification_remind(*, notification_id: int, sequence: int) -> SendOutcome:
    outcome = notification_send(notification_id=notification_id, purpose=Delivery.Purpose.REMINDER, sequence=sequence)
    if outcome.delivered and not outcome.acknowledged:
        Notification.objects.filter(pk=notification_id, reminders_sent__lt=sequence).update(reminders_sent=sequence)
    return outcome


def notification_escalate(*, notification_id: int) -> SendOutcome:
    """No ack after the reminders: tell the commander (once) and the party's escalation contacts."""
    from incidents.services.playbook import incident_attention

    notification = _notification(notification_id)
    if notification.acked_at is not None:
        return SendOutcome(acknowledged=True, delivered=0, failures=[])
    first = Notification.objects.filter(pk=notification.pk, acked_at__isnull=True, escalated_at__isnull=True).update(
        status=Notification.Status.ESCALATED, escalated_at=timezone.now()
    )
    if first:
        message = (
            f"{notification.party.name} ({notification.party.get_role_display()}) has not acknowledged "
            f"{notification.subject!r} after {notification.reminders_sent} reminder(s): escalated"
        )
        audit_record(
            action="notification.escalated",
            actor=SENDER,
            subject_type="notification",
            subject_id=notification.idempotency_key,
            reason=message,
            incident=notification.incident.reference,
            data={"party": notification.party.name, "reminders": notification.reminders_sent},
        )
        try:
            incident_attention(reference=notification.incident.reference, message=message)
        except (smtplib.SMTPException, OSError) as exc:
            # The attention is on the incident already (page, timeline); only its email failed.
            log.warning("notification.escalation_mail_failed", notification=notification.pk, error=str(exc))
    return notification_send(notification_id=notification_id, purpose=Delivery.Purpose.ESCALATION)
