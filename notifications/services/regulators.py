"""Messages to regulators: never sent in one click. Each waits for a legal/DPO sign-off of its exact text
(the ``regulatory_filing_signoff`` policy: an approver other than the requester, with step-up), then a
person who signs filings sends it. ``_approve`` in messages.py holds any regulator message without one."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import transaction

from approvals.models import ApprovalRequest
from approvals.policies import REGULATORY_FILING_SIGNOFF
from approvals.services.requests import approval_refuse_undecidable, approval_request_open
from audit.actors import Actor
from audit.services import audit_record
from notifications.audiences import REGULATOR
from notifications.errors import NotAllowedToApprove, NothingToApprove, NotificationNotFound
from notifications.models import Notification

SIGNER_PERMISSION = "webapp.sign_filings"
REQUESTER_PERMISSIONS = ("webapp.sign_filings", "webapp.command_incidents")


def body_digest(notification: Notification) -> str:
    return hashlib.sha256(f"{notification.subject}\n{notification.body}".encode()).hexdigest()


def regulator_signoffs(notification: Notification) -> list[ApprovalRequest]:
    return list(
        ApprovalRequest.objects.filter(
            action=REGULATORY_FILING_SIGNOFF, subject_type="notification", subject_id=notification.idempotency_key
        ).order_by("-requested_at")
    )


def regulator_signoff(notification: Notification) -> ApprovalRequest | None:
    """The approved sign-off of this message's exact text, if any."""
    digest = body_digest(notification)
    for request in regulator_signoffs(notification):
        if request.status == ApprovalRequest.Status.APPROVED and request.payload["details"].get("text") == digest:
            return request
    return None


def held_for_signoff(notification: Notification) -> bool:
    """A regulator's message still a draft for want of legal sign-off."""
    return (
        notification.audience == REGULATOR
        and notification.status == Notification.Status.DRAFT
        and regulator_signoff(notification) is None
    )


def _regulator_draft(notification_id: int) -> Notification:
    notification = (
        Notification.objects.select_for_update(of=("self",))
        .select_related("incident", "party")
        .filter(pk=notification_id, audience=REGULATOR)
        .first()
    )
    if notification is None:
        raise NotificationNotFound(f"no message to a regulator with id {notification_id}")
    if notification.status != Notification.Status.DRAFT:
        raise NothingToApprove(f"the message to {notification.party.name} is already {notification.status}")
    return notification


def notification_signoff_request(*, notification_id: int, user: Any, actor: Actor, reason: str) -> ApprovalRequest:
    """Ask legal/DPO to sign off the text of a message to a regulator. Refused (and the refusal recorded)
    when nobody could decide it."""
    if not any(user.has_perm(p) for p in REQUESTER_PERMISSIONS):
        raise NotAllowedToApprove("legal/DPO or an incident commander asks for the sign-off of a regulator's message")
    approval_refuse_undecidable(
        action=REGULATORY_FILING_SIGNOFF,
        requester=user,
        actor=actor,
        subject_type="notification",
        subject_id=str(notification_id),
        what=f"message {notification_id} to a regulator",
    )
    return _signoff_open(notification_id=notification_id, user=user, actor=actor, reason=reason)


@transaction.atomic
def _signoff_open(*, notification_id: int, user: Any, actor: Actor, reason: str) -> ApprovalRequest:
    notification = _regulator_draft(notification_id)
    return approval_request_open(
        action=REGULATORY_FILING_SIGNOFF,
        payload={
            "notification": notification.idempotency_key,
            "party": notification.party.name,
            "subject": notification.subject,
            "text": body_digest(notification),
        },
        reason=reason.strip() or f"send to {notification.party.name}",
        requested_by=user,
        actor=actor,
        incident=notification.incident.reference,
    )


@transaction.atomic
def notification_release(*, notification_id: int, user: Any, actor: Actor) -> Notification:
    """Send a regulator's message whose exact text legal signed off (by a person who signs filings)."""
    from notifications.services.messages import _approve

    if not user.has_perm(SIGNER_PERMISSION):
        raise NotAllowedToApprove("only legal/DPO sends a message to a regulator")
    notification = _regulator_draft(notification_id)
    signoff = regulator_signoff(notification)
    if signoff is None:
        raise NotAllowedToApprove(
            f"the message to {notification.party.name} has no approved legal sign-off of its text"
        )
    _approve(notification.incident, [notification], approver=user.get_username(), actor=actor)
    audit_record(
        action="notification.regulator_released",
        actor=actor,
        subject_type="notification",
        subject_id=notification.idempotency_key,
        reason=f"sent after legal sign-off {signoff.id}",
        incident=notification.incident.reference,
        data={"signoff": str(signoff.id), "text": body_digest(notification)},
    )
    return notification
