"""Requests as the API and the UI show them (the payload verbatim, as canonical JSON)."""

from __future__ import annotations

from typing import Any

from approvals.actions import POLICY_CHANGE
from approvals.models import ApprovalRequest
from approvals.selectors import decision_refusal, decision_roles, person_roles, request_outcome, request_rules
from approvals.wording import action_title, approving_changes, refusal_words, requirement_words, role_label
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
        "title": action_title(request.action),
        "still_needed": [requirement_words(req) for req in outcome.missing] if request.status == "pending" else [],
    }


def request_detail(request: ApprovalRequest, *, viewer: Any) -> dict[str, Any]:
    data = request_summary(request)
    rules = request_rules(request)
    decisions = list(request.decisions.select_related("approver").order_by("decided_at"))
    yours = next((d for d in decisions if d.approver_id == getattr(viewer, "pk", None)), None)
    refusal = decision_refusal(request, viewer) if request.status == "pending" and yours is None else None
    keys, change = approving_changes(request)
    your_roles = (
        decision_roles(request, viewer) if request.status == "pending" and yours is None and refusal is None else []
    )
    data.update(
        {
            "reason": request.reason,
            "policy": {
                "action": request.policy.action,
                "version": request.policy.version,
                "requirements": request.policy.requirements,
                # As applied: the stored version raised to the action's floor.
                "veto_on_reject": rules.veto,
                "allow_totp": rules.allow_totp,
                "exclude_requester": rules.exclude_requester,
                "floor": rules.floor.describe(),
            },
            "payload": request.payload,
            "payload_canonical": canonical_json(request.payload).decode(),
            "decisions": [
                {
                    "id": str(d.id),
                    "approver": d.approver.get_username(),
                    "role": d.role,
                    "role_label": role_label(d.role),
                    "decision": d.verdict,
                    "reason": d.reason,
                    "decided_at": d.decided_at.isoformat(),
                    "document_hash": d.document_hash,
                    "method": d.method,
                    "delivered_to_workflow": d.delivered_at is not None,
                }
                for d in decisions
            ],
            "result": request.result,
            "closed_at": request.closed_at.isoformat() if request.closed_at else None,
            "your_roles": your_roles,
            "your_role_choices": [(slug, role_label(slug)) for slug in your_roles],
            "your_decision": (
                {"decision": yours.verdict, "role": role_label(yours.role), "decided_at": yours.decided_at.isoformat()}
                if yours
                else None
            ),
            # Why the viewer cannot decide, in words (None: they may, or they already did).
            "cannot_decide": (
                refusal_words(refusal, rules=rules, held=person_roles(viewer)) if refusal is not None else None
            ),
            "plain": {
                "keys": [{"id": k.id, "alias": k.alias, "state": k.state, "systems": k.systems} for k in keys],
                "change": change,
                "requirements": [requirement_words(r) for r in rules.requirements],
            },
            "policy_diff": policy_diff_rows(request),
        }
    )
    return data


def policy_diff_rows(request: ApprovalRequest) -> list[dict[str, Any]]:
    """For a policy change: each changed field with its value before and after (empty otherwise)."""
    if request.action != POLICY_CHANGE:
        return []
    diff = request.payload.get("details", {}).get("diff", {})
    return [
        {
            "field": name,
            "from": canonical_json(change.get("from")).decode(),
            "to": canonical_json(change.get("to")).decode(),
        }
        for name, change in sorted(diff.items())
    ]
