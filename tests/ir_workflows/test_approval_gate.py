"""The workflow side of approvals on the time-skipping server: quorum, veto, validators, idempotent
updates, and reminders, escalation and expiry firing at the right instants."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowUpdateFailedError
from temporalio.worker import Worker

from ir_workflows.approvals.types import (
    APPROVAL_DECISION_UPDATE,
    APPROVAL_STATUS_QUERY,
    EXPIRE_APPROVAL_ACTIVITY,
    SEND_APPROVAL_NOTICE_ACTIVITY,
    ApprovalDecisionUpdate,
    ApprovalGateSpec,
    ApprovalNoticeInput,
    ApprovalNoticeResult,
    ExpireApprovalInput,
    ExpireApprovalResult,
    RequirementSpec,
)
from ir_workflows.approvals.workflows import ApprovalRequestWorkflow


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, datetime]] = []

    def activities(self):
        @activity.defn(name=SEND_APPROVAL_NOTICE_ACTIVITY)
        async def send_notice(notice: ApprovalNoticeInput) -> ApprovalNoticeResult:
            self.calls.append((notice.kind, activity.info().scheduled_time))
            return ApprovalNoticeResult(sent=1)

        @activity.defn(name=EXPIRE_APPROVAL_ACTIVITY)
        async def expire(expire: ExpireApprovalInput) -> ExpireApprovalResult:
            self.calls.append(("expiry", activity.info().scheduled_time))
            return ExpireApprovalResult(status="expired")

        return [send_notice, expire]


def _spec(start: datetime, **overrides: Any) -> ApprovalGateSpec:
    values: dict[str, Any] = {
        "request_id": str(uuid.uuid4()),
        "action": "confirm_compromise",
        "requester": "cmdr",
        "requirements": [RequirementSpec(["security_lead"], 1), RequirementSpec(["key_custodian"], 1)],
        "veto": True,
        "exclude_requester": True,
        "opened_at": start.isoformat(),
        "expires_at": (start + timedelta(hours=4)).isoformat(),
        "reminder_after_seconds": [1800, 3600],
        "escalate_after_seconds": 7200,
        "escalation_role": "ciso",
    }
    return ApprovalGateSpec(**(values | overrides))


def _vote(spec, approver, role, verdict="approve", decision_id=None):
    return ApprovalDecisionUpdate(
        request_id=spec.request_id,
        decision_id=decision_id or str(uuid.uuid4()),
        approver=approver,
        role=role,
        verdict=verdict,
    )


async def _start(env, recorder, spec, task_queue):
    worker = Worker(
        env.client, task_queue=task_queue, workflows=[ApprovalRequestWorkflow], activities=recorder.activities()
    )
    handle = await env.client.start_workflow(
        ApprovalRequestWorkflow.run, spec, id=f"approval-{spec.request_id}", task_queue=task_queue
    )
    return worker, handle


async def test_quorum_through_updates_ends_the_gate(time_skipping_env):
    env, recorder, task_queue = time_skipping_env, Recorder(), f"tq-{uuid.uuid4()}"
    spec = _spec(await _now(env))
    worker, handle = await _start(env, recorder, spec, task_queue)
    async with worker:
        first = _vote(spec, "lead", "security_lead")
        assert await handle.execute_update(APPROVAL_DECISION_UPDATE, first, id=first.decision_id) == "pending"
        # The same update again (a retried delivery) is not counted twice.
        assert await handle.execute_update(APPROVAL_DECISION_UPDATE, first, id=first.decision_id) == "pending"
        second = _vote(spec, "custodian", "key_custodian")
        assert await handle.execute_update(APPROVAL_DECISION_UPDATE, second, id=second.decision_id) == "approved"
        result = await handle.result()
    assert result.status == "approved"
    assert result.approvers == ["lead", "custodian"]
    assert recorder.calls == []  # approved before the first reminder


async def test_validators_re_check_the_policy(time_skipping_env):
    env, recorder, task_queue = time_skipping_env, Recorder(), f"tq-{uuid.uuid4()}"
    spec = _spec(await _now(env))
    worker, handle = await _start(env, recorder, spec, task_queue)
    async with worker:
        refused = [
            _vote(spec, "cmdr", "security_lead"),  # the requester
            _vote(spec, "lead", "ciso"),  # a role that does not count
            _vote(spec, "lead", "security_lead", verdict="maybe"),
            ApprovalDecisionUpdate(
                request_id="other", decision_id="x", approver="a", role="security_lead", verdict="approve"
            ),
        ]
        for update in refused:
            with pytest.raises(WorkflowUpdateFailedError):
                await handle.execute_update(APPROVAL_DECISION_UPDATE, update, id=update.decision_id)
        ok = _vote(spec, "lead", "security_lead")
        await handle.execute_update(APPROVAL_DECISION_UPDATE, ok, id=ok.decision_id)
        again = _vote(spec, "lead", "security_lead")  # same person, new decision id
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(APPROVAL_DECISION_UPDATE, again, id=again.decision_id)
        veto = _vote(spec, "custodian", "key_custodian", verdict="reject")
        assert await handle.execute_update(APPROVAL_DECISION_UPDATE, veto, id=veto.decision_id) == "rejected"
        result = await handle.result()
    assert result.status == "rejected"


async def test_reminders_escalation_and_expiry_fire_on_time(time_skipping_env):
    env, recorder, task_queue = time_skipping_env, Recorder(), f"tq-{uuid.uuid4()}"
    start = await _now(env)
    spec = _spec(start)
    worker, handle = await _start(env, recorder, spec, task_queue)
    async with worker:
        status = await handle.query(APPROVAL_STATUS_QUERY)
        assert status[0]["missing"] == ["1 of security_lead", "1 of key_custodian"]
        result = await handle.result()  # time skips through 4 hours
    assert result.status == "expired"
    offsets = [(kind, round((at - start).total_seconds() / 60)) for kind, at in recorder.calls]
    assert offsets == [("reminder", 30), ("reminder", 60), ("escalation", 120), ("expiry", 240)]


async def _now(env) -> datetime:
    now: datetime = await env.get_current_time()
    return now if now.tzinfo else now.replace(tzinfo=UTC)
