"""Proposing a new version of an approval policy: a ``policy_change`` approval request that carries the
complete new fields and the diff; approving it publishes the version (approvals.services.effects)."""

from __future__ import annotations

from typing import Any

from approvals.actions import POLICY_CHANGE
from approvals.models import ApprovalRequest
from approvals.policies import policy_change_details
from approvals.services.requests import approval_request_open
from audit.actors import Actor


def policy_change_propose(
    *, action: str, fields: dict[str, Any], reason: str, proposed_by: Any, actor: Actor
) -> ApprovalRequest:
    """Propose ``fields`` (complete or partial) as the next version of the ``action`` policy. Refused
    when below the floor, when nothing changes, or when a change of that policy is already pending."""
    return approval_request_open(
        action=POLICY_CHANGE,
        payload=policy_change_details(action=action, fields=fields),
        reason=reason,
        requested_by=proposed_by,
        actor=actor,
    )
