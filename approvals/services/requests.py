"""Opening, cancelling and expiring approval requests."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals.errors import InvalidApprovalRequest, RequestClosed, RequestNotFound
from approvals.models import ApprovalRequest
from approvals.policies import policy_current
from approvals.services.payloads import payload_check
from audit.actors import Actor
from audit.chain import canonical_json, timestamp
from audit.services import audit_record
from ir_workflows.approvals.types import (
    APPROVAL_CLOSED_UPDATE,
    APPROVAL_REQUEST_WORKFLOW,
    ApprovalClosedUpdate,
    ApprovalGateSpec,
    RequirementSpec,
    approval_workflow_id,
)
from ir_workflows.outbox import outbox_start, outbox_update


def payload_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def gate_spec(request: ApprovalRequest) -> ApprovalGateSpec:
    policy = request.policy
    return ApprovalGateSpec(
        request_id=str(request.id),
        action=request.action,
        requester=request.requested_by.get_username(),
        requirements=[RequirementSpec(roles=list(r["roles"]), count=int(r["count"])) for r in policy.requirements],
        veto=policy.veto_on_reject,
        exclude_requester=policy.exclude_requester,
        opened_at=request.requested_at.isoformat(),
        expires_at=request.expires_at.isoformat(),
        reminder_after_seconds=list(policy.reminder_after_seconds),
        escalate_after_seconds=policy.escalate_after_seconds,
        escalation_role=policy.escalation_role,
    )


@transaction.atomic
def approval_request_open(
    *,
    action: str,
    payload: dict[str, Any],
    reason: str,
    requested_by: Any,
    actor: Actor,
    incident: str = "",
    workflow_id: str = "",
) -> ApprovalRequest:
    """Open a request under the current policy for ``action``. With no ``workflow_id`` a request
    workflow of its own is started (reminders, escalation, expiry); otherwise that workflow waits."""
    if not reason.strip():
        raise InvalidApprovalRequest("a request states its reason")
    policy = policy_current(action)
    # The keys named are checked as the requester may see them, unless Sequester itself opens it.
    subject_type, subject_id = payload_check(
        action, payload, policy, requested_by=requested_by, by_system=actor.type == "system"
    )
    now = timezone.now()
    document = {
        "action": action,
        "subject": {"type": subject_type, "id": subject_id},
        "incident": incident,
        "reason": reason.strip(),
        "requested_by": requested_by.get_username(),
        "requested_at": timestamp(now),
        "policy": {"action": policy.action, "version": policy.version},
        "details": payload,
    }
    request_id = uuid.uuid4()
    request = ApprovalRequest.objects.create(
        id=request_id,
        requested_at=now,
        policy=policy,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        incident=incident,
        payload=document,
        payload_hash=payload_hash(document),
        reason=reason.strip(),
        requested_by=requested_by,
        expires_at=now + timedelta(seconds=policy.expires_after_seconds),
        workflow_id=workflow_id or approval_workflow_id(str(request_id)),
    )
    if not workflow_id:
        outbox_start(
            workflow_type=APPROVAL_REQUEST_WORKFLOW, workflow_id=request.workflow_id, payload=gate_spec(request)
        )
    audit_record(
        action="approval.requested",
        actor=actor,
        subject_type=subject_type,
        subject_id=subject_id,
        reason=reason,
        incident=incident,
        data={
            "request": str(request.id),
            "action": action,
            "payload_hash": request.payload_hash,
            "policy_version": policy.version,
        },
    )
    transaction.on_commit(lambda: _notify_opened(str(request_id)))
    return request


def approval_refuse_undecidable(
    *, action: str, requester: Any, actor: Actor, subject_type: str, subject_id: str, incident: str = "", what: str
) -> None:
    """Refuse, before it is opened, a request for ``action`` that nobody could decide (only the requester
    holds the roles, say): it would wait until it expired and block what depends on it meanwhile. The
    refusal is recorded (call it outside the transaction that would open the request)."""
    from approvals.errors import NoEligibleApprover
    from approvals.selectors import request_decidable

    if request_decidable(action, requester):
        return
    message = f"nobody but {requester.get_username()} could decide the {action} of {what}: another approver must ask"
    audit_record(
        action="approval.refused_undecidable",
        actor=actor,
        subject_type=subject_type,
        subject_id=subject_id,
        reason=message,
        incident=incident,
        data={"action": action, "code": NoEligibleApprover.code},
    )
    raise NoEligibleApprover(message)


def _notify_opened(request_id: str) -> None:
    from approvals.tasks import notify_request_opened

    notify_request_opened.delay(request_id)


def _locked(request_id: Any) -> ApprovalRequest:
    request = (
        ApprovalRequest.objects.select_for_update()
        .select_related("policy", "requested_by")
        .filter(id=request_id)
        .first()
    )
    if request is None:
        raise RequestNotFound(f"no approval request {request_id}")
    return request


def _close(request: ApprovalRequest, status: str, *, actor: Actor, reason: str) -> None:
    request.status = status
    request.closed_at = timezone.now()
    request.save(update_fields=["status", "closed_at"])
    audit_record(
        action=f"approval.{status}",
        actor=actor,
        subject_type=request.subject_type,
        subject_id=request.subject_id,
        reason=reason,
        incident=request.incident,
        data={"request": str(request.id), "action": request.action, "payload_hash": request.payload_hash},
    )


@transaction.atomic
def approval_cancel(*, request_id: Any, user: Any, actor: Actor, reason: str) -> ApprovalRequest:
    request = _locked(request_id)
    if request.status != ApprovalRequest.Status.PENDING:
        raise RequestClosed(f"the request is already {request.status}", status=request.status)
    if request.requested_by_id != user.pk and not user.has_perm("webapp.command_incidents"):
        from approvals.errors import NotEligible

        raise NotEligible("only the requester or an incident commander may cancel a request")
    _close(request, ApprovalRequest.Status.CANCELLED, actor=actor, reason=reason or "cancelled")
    outbox_update(
        workflow_id=request.workflow_id,
        update_name=APPROVAL_CLOSED_UPDATE,
        update_id=f"closed-{request.id}",
        payload=ApprovalClosedUpdate(request_id=str(request.id), status=request.status),
    )
    return request


@transaction.atomic
def approval_expire(*, request_id: Any) -> str:
    """Expire a pending request whose deadline has passed (idempotent); returns its status."""
    request = _locked(request_id)
    if request.status == ApprovalRequest.Status.PENDING and request.expires_at <= timezone.now():
        _close(
            request,
            ApprovalRequest.Status.EXPIRED,
            actor=Actor.system("approvals"),
            reason="no quorum before the deadline",
        )
    return str(request.status)
