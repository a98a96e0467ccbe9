"""Email to the people an approval request needs: when it opens, as a reminder, on escalation."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import send_mass_mail
from django.urls import reverse

from approvals.models import ApprovalRequest
from approvals.selectors import eligible_approvers, request_outcome
from ir_workflows.approvals.types import NOTICE_ESCALATION, NOTICE_REMINDER

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
    """Mail every person who may still decide (and, on escalation, the escalation role)."""
    request = ApprovalRequest.objects.select_related("policy", "requested_by").filter(id=request_id).first()
    if request is None or request.status != ApprovalRequest.Status.PENDING:
        return 0
    extra = (request.policy.escalation_role,) if kind == NOTICE_ESCALATION and request.policy.escalation_role else ()
    recipients = [u.email for u in eligible_approvers(request, extra_roles=extra) if u.email]
    if not recipients:
        return 0
    subject, body = _message(request, kind)
    messages = [(subject, body, settings.DEFAULT_FROM_EMAIL, [address]) for address in recipients]
    return int(send_mass_mail(messages, fail_silently=False))
