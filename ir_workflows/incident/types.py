"""Names, inputs and results of the key-compromise playbook on the Temporal side."""

from __future__ import annotations

from dataclasses import dataclass, field

from ir_workflows.approvals.types import ApprovalGateSpec

INCIDENT_WORKFLOW = "KeyCompromiseIncident"
RESTRICTION_BATCH_WORKFLOW = "KeyRestrictionBatch"
KEY_RESTRICTION_WORKFLOW = "KeyRestriction"

ADD_KEYS_UPDATE = "add_keys"
RECORD_AWARENESS_UPDATE = "record_awareness"
CHANGE_SEVERITY_UPDATE = "change_severity"
ADD_NOTE_UPDATE = "add_note"
ADVANCE_UPDATE = "advance"
INCIDENT_STATUS_QUERY = "status"

CONTAIN_ACTIVITY = "incident_contain"
# Containment checked and the confirmation requested in one activity: the path to the first gate.
CONTAIN_AND_CONFIRM_ACTIVITY = "incident_contain_and_request_confirmation"
SET_STEP_ACTIVITY = "incident_set_step"
OPEN_APPROVAL_ACTIVITY = "incident_open_approval"
ATTENTION_ACTIVITY = "incident_attention"
MARK_COMPROMISED_ACTIVITY = "key_mark_compromised"
RESTRICT_KEY_ACTIVITY = "key_restrict_verify"
REWRAP_PLAN_ACTIVITY = "incident_rewrap_plan"
REWRAP_ACTIVITY = "rewrap_key_data"
RESTORE_ACTIVITY = "incident_restore_keys"
HOOKS_ACTIVITY = "incident_run_hooks"
DESTROY_ACTIVITY = "incident_destroy_keys"
CLOSE_ACTIVITY = "incident_close"
CLOSURE_CHECK_ACTIVITY = "incident_closure_check"

RESTRICTION_BATCH_SIZE = 500
RESTRICTION_CONCURRENCY = 50
REWRAP_CONCURRENCY = 4
APPROVAL_ROUNDS_BEFORE_STALL = 3


def restriction_batch_id(parent_workflow_id: str, batch: int) -> str:
    return f"{parent_workflow_id}/restrict-batch/{batch}"


def key_restriction_id(parent_workflow_id: str, key: str) -> str:
    return f"{parent_workflow_id}/restrict/{key}"


@dataclass(frozen=True, slots=True)
class IncidentInput:
    incident: str  # the reference, also the workflow id
    keys: list[str]
    severity: str
    commander: str = ""


@dataclass(frozen=True, slots=True)
class IncidentRef:
    incident: str


@dataclass(frozen=True, slots=True)
class ContainResult:
    roots: list[str]
    keys: list[str]
    systems: int
    record_count: int


@dataclass(frozen=True, slots=True)
class ContainAndConfirmResult:
    contained: ContainResult
    confirmation: ApprovalGateSpec  # the first round's confirm_compromise request


@dataclass(frozen=True, slots=True)
class StepInput:
    incident: str
    step: str


@dataclass(frozen=True, slots=True)
class StepResult:
    step: str


@dataclass(frozen=True, slots=True)
class OpenApprovalInput:
    incident: str
    action: str
    round: int
    keys: list[str] = field(default_factory=list)
    disposition: str = ""
    step: str = ""  # the step the incident is at (recorded by the same activity)


@dataclass(frozen=True, slots=True)
class AttentionInput:
    incident: str
    message: str


@dataclass(frozen=True, slots=True)
class AttentionResult:
    sent: int


@dataclass(frozen=True, slots=True)
class KeyTaskInput:
    incident: str
    key: str


@dataclass(frozen=True, slots=True)
class KeyTaskResult:
    key: str
    state: str
    verified: bool = False


@dataclass(frozen=True, slots=True)
class RestrictionBatchInput:
    incident: str
    keys: list[str]
    parent_workflow_id: str = ""


@dataclass(frozen=True, slots=True)
class RestrictionBatchResult:
    restricted: list[str]


@dataclass(frozen=True, slots=True)
class RewrapTarget:
    incident: str
    key: str
    replacement: str
    total: int
    batch_size: int = 500
    heartbeat_seconds: int = 30
    pause_ms: int = 0


@dataclass(frozen=True, slots=True)
class RewrapPlan:
    targets: list[RewrapTarget]


@dataclass(frozen=True, slots=True)
class RewrapResult:
    key: str
    done: int
    total: int
    remaining: int = 0  # items still under the compromised key (skipped: held by another transaction)


@dataclass(frozen=True, slots=True)
class RestoreResult:
    restored: list[str]


@dataclass(frozen=True, slots=True)
class HookInput:
    incident: str
    step: str


@dataclass(frozen=True, slots=True)
class HookResult:
    ran: list[str]


@dataclass(frozen=True, slots=True)
class DestroyResult:
    destroyed: list[str]
    kept: list[str]


@dataclass(frozen=True, slots=True)
class CloseInput:
    incident: str
    resolution: str
    disposition: str


@dataclass(frozen=True, slots=True)
class CloseResult:
    closed_at: str


@dataclass(frozen=True, slots=True)
class ClosureCheckInput:
    incident: str
    approved: bool  # False: against the commander's request; True: against the signed close_incident approval


@dataclass(frozen=True, slots=True)
class ClosureCheckResult:
    blocking: list[str]  # titles of the open items neither done nor waived


# --- updates ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AddKeysUpdate:
    keys: list[str]
    by: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class AwarenessUpdate:
    aware_at: str
    by: str


@dataclass(frozen=True, slots=True)
class SeverityUpdate:
    severity: str
    by: str


@dataclass(frozen=True, slots=True)
class NoteUpdate:
    text: str
    by: str


@dataclass(frozen=True, slots=True)
class AdvanceUpdate:
    action: str  # "request_close" or "retry"
    choice: str
    by: str


# --- query and result ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class KeyProgress:
    key: str
    restricted: bool
    rewrapped: int
    to_rewrap: int


@dataclass(frozen=True, slots=True)
class PendingApproval:
    request_id: str
    status: str
    missing: list[str]


@dataclass(frozen=True, slots=True)
class IncidentStatus:
    incident: str
    step: str
    severity: str
    aware_at: str
    attention: str
    keys: list[KeyProgress]
    approvals: list[PendingApproval]
    notes: int
    resolution: str


@dataclass(frozen=True, slots=True)
class IncidentResult:
    incident: str
    resolution: str
    restricted: int
    rewrapped: int
