"""Names, inputs and results of approval gates on the Temporal side."""

from __future__ import annotations

from dataclasses import dataclass, field

APPROVAL_REQUEST_WORKFLOW = "ApprovalRequest"
APPROVAL_DECISION_UPDATE = "approval_decision"
APPROVAL_CLOSED_UPDATE = "approval_closed"
APPROVAL_STATUS_QUERY = "approval_status"
SEND_APPROVAL_NOTICE_ACTIVITY = "send_approval_notice"
EXPIRE_APPROVAL_ACTIVITY = "expire_approval_request"

NOTICE_REMINDER = "reminder"
NOTICE_ESCALATION = "escalation"


def approval_workflow_id(request_id: str) -> str:
    return f"approval-{request_id}"


@dataclass(frozen=True, slots=True)
class RequirementSpec:
    roles: list[str]
    count: int


@dataclass(frozen=True, slots=True)
class ApprovalGateSpec:
    """What a workflow needs to wait on a request: the policy as it was when the request opened."""

    request_id: str
    action: str
    requester: str
    requirements: list[RequirementSpec]
    veto: bool
    exclude_requester: bool
    opened_at: str  # ISO 8601, UTC
    expires_at: str
    reminder_after_seconds: list[int] = field(default_factory=list)
    escalate_after_seconds: int | None = None
    escalation_role: str = ""


@dataclass(frozen=True, slots=True)
class ApprovalDecisionUpdate:
    """One decision, committed in the database first; its id is the update id (idempotent)."""

    request_id: str
    decision_id: str
    approver: str
    role: str
    verdict: str


@dataclass(frozen=True, slots=True)
class ApprovalClosedUpdate:
    """The request ended outside a decision: cancelled (or expired by another path)."""

    request_id: str
    status: str


@dataclass(frozen=True, slots=True)
class ApprovalGateStatus:
    request_id: str
    status: str
    approvers: list[str]
    missing: list[str]


@dataclass(frozen=True, slots=True)
class ApprovalGateResult:
    request_id: str
    status: str
    approvers: list[str]
    decision_ids: list[str]


@dataclass(frozen=True, slots=True)
class ApprovalNoticeInput:
    request_id: str
    kind: str  # NOTICE_REMINDER or NOTICE_ESCALATION


@dataclass(frozen=True, slots=True)
class ApprovalNoticeResult:
    sent: int


@dataclass(frozen=True, slots=True)
class ExpireApprovalInput:
    request_id: str


@dataclass(frozen=True, slots=True)
class ExpireApprovalResult:
    status: str
