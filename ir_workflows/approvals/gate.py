"""``ApprovalGates``: a workflow-side helper that waits for a request's quorum, veto or expiry.

A workflow creates one in ``__init__``; it registers the decision and closing updates (with
validators that re-check the policy) and a status query. ``await gates.wait(spec)`` sends reminders
and escalation on durable timers and, at the deadline, has the request expired in the database.
The database decides (under a row lock); the gate re-derives the same outcome from the decisions it
receives, with the same pure quorum code, so a decision the policy forbids is refused here too.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from ir_workflows import retry
from ir_workflows.approvals.types import (
    APPROVAL_CLOSED_UPDATE,
    APPROVAL_DECISION_UPDATE,
    APPROVAL_STATUS_QUERY,
    EXPIRE_APPROVAL_ACTIVITY,
    NOTICE_ESCALATION,
    NOTICE_REMINDER,
    SEND_APPROVAL_NOTICE_ACTIVITY,
    ApprovalClosedUpdate,
    ApprovalDecisionUpdate,
    ApprovalGateResult,
    ApprovalGateSpec,
    ApprovalGateStatus,
    ApprovalNoticeInput,
    ApprovalNoticeResult,
    ExpireApprovalInput,
    ExpireApprovalResult,
)

with workflow.unsafe.imports_passed_through():
    from approvals import quorum
    from approvals.floors import floor_of

CLOSED_STATUSES = {"approved", "rejected", "expired", "cancelled"}
GATE_NOT_OPEN = "GateNotOpen"


@dataclass(slots=True)
class _Gate:
    spec: ApprovalGateSpec
    rules: quorum.Rules
    votes: list[quorum.Vote] = field(default_factory=list)
    decision_ids: list[str] = field(default_factory=list)
    status: str = quorum.PENDING

    @property
    def done(self) -> bool:
        return self.status in CLOSED_STATUSES

    def outcome(self) -> quorum.Outcome:
        return self.rules.outcome(self.votes)


class ApprovalGates:
    def __init__(self, closed_before: dict[str, str] | None = None) -> None:
        self._gates: dict[str, _Gate] = {}
        # Requests closed in an earlier run of this workflow (before a continue-as-new): a late decision
        # for one of them is refused for good, not "not open yet".
        self._closed_before = dict(closed_before or {})
        workflow.set_update_handler(APPROVAL_DECISION_UPDATE, self._on_decision, validator=self._validate_decision)
        workflow.set_update_handler(APPROVAL_CLOSED_UPDATE, self._on_closed, validator=self._validate_closed)
        workflow.set_query_handler(APPROVAL_STATUS_QUERY, self.status)

    # --- handlers --------------------------------------------------------------------------------
    def _validate_decision(self, update: ApprovalDecisionUpdate) -> None:
        if update.request_id in self._closed_before:
            raise ValueError(f"request {update.request_id} is already {self._closed_before[update.request_id]}")
        gate = self._gates.get(update.request_id)
        if gate is None:
            # The request may exist already while the activity that opened it is still reporting back:
            # the sender retries (GATE_NOT_OPEN is transient).
            raise ApplicationError(
                f"this workflow is not waiting on request {update.request_id} (yet)", type=GATE_NOT_OPEN
            )
        if gate.done:
            raise ValueError(f"request {update.request_id} is already {gate.status}")
        # The same rule as the database service (approvals.quorum.vote_refusal): one place.
        refused = quorum.vote_refusal(
            gate.rules,
            approver=update.approver,
            role=update.role,
            verdict=update.verdict,
            decided=[vote.approver for vote in gate.votes],
        )
        if refused is not None:
            raise ValueError(f"{refused.refusal.value}: {refused.message}")

    def _on_decision(self, update: ApprovalDecisionUpdate) -> str:
        gate = self._gates[update.request_id]
        gate.votes.append(quorum.Vote(update.approver, update.role, update.verdict))
        gate.decision_ids.append(update.decision_id)
        gate.status = gate.outcome().status
        return gate.status

    def _validate_closed(self, update: ApprovalClosedUpdate) -> None:
        if update.request_id in self._closed_before:
            raise ValueError(f"request {update.request_id} is already {self._closed_before[update.request_id]}")
        if update.request_id not in self._gates:
            raise ApplicationError(
                f"this workflow is not waiting on request {update.request_id} (yet)", type=GATE_NOT_OPEN
            )
        if update.status not in CLOSED_STATUSES:
            raise ValueError(f"{update.status!r} is not a closing status")

    def _on_closed(self, update: ApprovalClosedUpdate) -> str:
        gate = self._gates[update.request_id]
        if not gate.done:
            gate.status = update.status
        return gate.status

    def status(self) -> list[ApprovalGateStatus]:
        statuses = []
        for request_id, gate in self._gates.items():
            outcome = gate.outcome()
            statuses.append(
                ApprovalGateStatus(
                    request_id=request_id,
                    status=gate.status,
                    approvers=[v.approver for v in gate.votes if v.decision == quorum.APPROVE],
                    missing=[req.describe() for req in outcome.missing] if not gate.done else [],
                )
            )
        return statuses

    def pending(self) -> list[str]:
        return [request_id for request_id, gate in self._gates.items() if not gate.done]

    def closed(self) -> dict[str, str]:
        """Every request closed so far (this run's and earlier runs'), for a continue-as-new."""
        done = {request_id: gate.status for request_id, gate in self._gates.items() if gate.done}
        return {**self._closed_before, **done}

    # --- waiting ---------------------------------------------------------------------------------
    def open(self, spec: ApprovalGateSpec) -> None:
        """Start listening for a request's decisions (before anything can deliver one)."""
        if spec.request_id not in self._gates:
            requirements = quorum.requirements_from({"roles": r.roles, "count": r.count} for r in spec.requirements)
            rules = quorum.Rules.of(
                requirements=requirements,
                requester=spec.requester,
                exclude_requester=spec.exclude_requester,
                veto=spec.veto,
                allow_totp=True,  # the method was checked where the decision was signed
                floor=floor_of(spec.action),
            )
            self._gates[spec.request_id] = _Gate(spec=spec, rules=rules)

    async def wait(self, spec: ApprovalGateSpec) -> ApprovalGateResult:
        self.open(spec)
        gate = self._gates[spec.request_id]
        opened = datetime.fromisoformat(spec.opened_at)
        moments: list[tuple[datetime, str]] = [
            (opened + timedelta(seconds=offset), NOTICE_REMINDER) for offset in spec.reminder_after_seconds
        ]
        if spec.escalate_after_seconds is not None:
            moments.append((opened + timedelta(seconds=spec.escalate_after_seconds), NOTICE_ESCALATION))
        expires = datetime.fromisoformat(spec.expires_at)
        moments = [*sorted(m for m in moments if m[0] < expires), (expires, "expiry")]
        for moment, kind in moments:
            delay = (moment - workflow.now()).total_seconds()
            if delay > 0:
                with contextlib.suppress(asyncio.TimeoutError):
                    await workflow.wait_condition(lambda: gate.done, timeout=delay)
            if gate.done:
                break
            if kind == "expiry":
                expired = await workflow.execute_activity(
                    EXPIRE_APPROVAL_ACTIVITY,
                    ExpireApprovalInput(request_id=spec.request_id),
                    result_type=ExpireApprovalResult,
                    start_to_close_timeout=retry.DATABASE_WRITE_TIMEOUT,
                    retry_policy=retry.DATABASE_WRITE_UNTIL_DONE,  # a database outage delays it, never fails it
                )
                if expired.status in CLOSED_STATUSES:
                    gate.status = gate.status if gate.done else expired.status
                break
            await workflow.execute_activity(
                SEND_APPROVAL_NOTICE_ACTIVITY,
                ApprovalNoticeInput(request_id=spec.request_id, kind=kind),
                result_type=ApprovalNoticeResult,
                start_to_close_timeout=retry.NOTIFY_TIMEOUT,
                retry_policy=retry.TELL,  # a reminder is delayed by a database outage, not lost with the workflow
            )
        await workflow.wait_condition(lambda: gate.done)
        return ApprovalGateResult(
            request_id=spec.request_id,
            status=gate.status,
            approvers=[v.approver for v in gate.votes if v.decision == quorum.APPROVE],
            decision_ids=list(gate.decision_ids),
        )
