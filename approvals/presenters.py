"""Requests as the API and the UI show them (the payload verbatim, as canonical JSON)."""

from __future__ import annotations

from typing import Any

from approvals.models import ApprovalRequest
from approvals.selectors import decision_roles, request_outcome
from audit.chain import canonical_json


def request_summary(request: ApprovalRequest) -> dict[str, Any]:
    outcome = request_outcome(request)
    return {
        "id": str(request.id),
        "action": request.action,
        "status": request.status,
        "subject": {"type": request.subject_type, "id": request.subject_id},
        "incident": request.incident,
        "requested_by": request.requested_by.get_username(),
        "requested_at": request.requested_at.isoformat(),
        "expires_at": request.expires_at.isoformat(),
        "payload_hash": request.payload_hash,
        "missing": [req.describe() for req in outcome.missing] if request.status == "pending" else [],
    }


def request_detail(request: ApprovalRequest, *, viewer: Any) -> dict[str, Any]:
    data = request_summary(request)
    data.update(
        {
            "reason": request.reason,
            "policy": {
                "action": request.policy.action,
                "version": request.policy.version,
                "requirements": request.policy.requirements,
                "veto_on_reject": request.policy.veto_on_reject,
                "allow_totp": request.policy.allow_totp,
            },
            "payload": request.payload,
            "payload_canonical": canonical_json(request.payload).decode(),
            "decisions": [
                {
                    "id": str(d.id),
                    "approver": d.approver.get_username(),
                    "role": d.role,
                    "decision": d.verdict,
                    "reason": d.reason,
                    "decided_at": d.decided_at.isoformat(),
                    "document_hash": d.document_hash,
                    "method": d.method,
                    "delivered_to_workflow": d.delivered_at is not None,
                }
                for d in request.decisions.select_related("approver").order_by("decided_at")
            ],
            "result": request.result,
            "closed_at": request.closed_at.isoformat() if request.closed_at else None,
            "your_roles": decision_roles(request.policy, viewer) if request.status == "pending" else [],
        }
    )
    return data
