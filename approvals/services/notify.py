"""Email to the people an approval request needs: when it opens, as a reminder, on escalation."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone

from approvals.models import ApprovalRequest
from approvals.selectors import eligible_approvers, request_outcome
from ir_workflows.approvals.types import NOTICE_ESCALATION, NOTICE_REMINDER
from webapp.services.staff_mail import staff_mail_send

OPENED = "opened"


def _message(request: ApprovalRequest, kind: str) -> tuple[str, str]:
    link = settings.SEQUESTER_BASE_URL.rstrip("/") + reverse("approval-page", args=[request.id])
    missing = ", ".join(req.describe() for req in request_outcome(request).missing) or "nothing"
    prefix = {
        OPENED: "Approval needed",
        NOTICE_REMINDER: "Reminder: approval needed",
        NOTICE_ESCALATION: "ESCALATED: approval overdue",
    }[kind]
    subject = f"[Sequester] {prefix}: {request.action.replace('_', ' ')}"
    body = (
        f"{prefix}.\n\n"
        f"Action:       {request.action}\n"
        f"Subject:      {request.subject_type} {request.subject_id}\n"
        f"Incident:     {request.incident or '-'}\n"
        f"Requested by: {request.requested_by.get_username()}\n"
        f"Reason:       {request.reason}\n"
        f"Still needed: {missing}\n"
        f"Expires:      {request.expires_at:%Y-%m-%d %H:%M} UTC\n"
        f"Payload hash: {request.payload_hash}\n\n"
        f"Review and decide (step-up required): {link}\n"
    )
    return subject, body


def approval_notice_send(*, request_id: Any, kind: str) -> int:
    """Mail every person who may still decide (and, on escalation, the escalation role); returns how
    many have it now. Never raises for the mail server: what is not delivered is retried with backoff
    and shown on the request's page (webapp.services.staff_mail)."""
    request = ApprovalRequest.objects.select_related("policy", "requested_by").filter(id=request_id).first()
    if request is None or request.status != ApprovalRequest.Status.PENDING:
        return 0
    extra = (request.policy.escalation_role,) if kind == NOTICE_ESCALATION and request.policy.escalation_role else ()
    recipients = [u.email for u in eligible_approvers(request, extra_roles=extra) if u.email]
    if not recipients:
        return 0
    subject, body = _message(request, kind)
    mail = staff_mail_send(
        kind=f"approval_{kind}",
        subject_type="approval_request",
        subject_id=str(request.id),
        incident=request.incident,
        recipients=recipients,
        subject=subject,
        body=body,
    )
    return len(mail.delivered_to)


def factor_notice_send(*, user_id: Any, what: str, source_ip: str) -> int:
    """Tell a person that their second factors changed (the alarm when it was not them)."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None or not user.email:
        return 0
    link = settings.SEQUESTER_BASE_URL.rstrip("/") + reverse("account-security")
    body = (
        f"{what}.\n\n"
        f"Account:   {user.get_username()}\n"
        f"When:      {timezone.now():%Y-%m-%d %H:%M} UTC\n"
        f"From:      {source_ip}\n\n"
        f"Your step-up methods: {link}\n\n"
        "If this was not you, tell your security team at once: someone may hold your session or password.\n"
    )
    return int(send_mail("[Sequester] Your second factors changed", body, settings.DEFAULT_FROM_EMAIL, [user.email]))
