"""Every branch of the playbook on the time-skipping server, with same-named fake activities: confirmed,
false positive, approval expiry → escalation, rewrap resumed after a crash, a stalled step retried."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from approvals.floors import floor_of
from ir_workflows.approvals.types import (
    APPROVAL_DECISION_UPDATE,
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
from ir_workflows.incident import types as t
from ir_workflows.incident.workflows import (
    KeyCompromiseIncidentWorkflow,
    KeyRestrictionBatchWorkflow,
    KeyRestrictionWorkflow,
)

KEYS = ["k1", "k2"]


class Fakes:
    """Fake activities that record what the playbook asked for."""

    def __init__(
        self, *, rewrap_crashes: int = 0, fail_hooks: int = 0, closure_blocks: list[list[str]] | None = None
    ) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.closure_blocks = list(closure_blocks or [])
        self.request_ids: set[str] = set()  # answered in turn by the closure check, then []
        self.now: datetime | None = None
        self.rewrap_crashes = rewrap_crashes
        self.fail_hooks = fail_hooks
        self.rewrap_starts: list[int] = []

    def record(self, name: str, value: Any) -> None:
        self.calls.append((name, value))

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def activities(self) -> list[Any]:
        fakes = self

        @activity.defn(name=t.CONTAIN_ACTIVITY)
        async def contain(ref: t.IncidentRef) -> t.ContainResult:
            fakes.record("contain", ref.incident)
            return t.ContainResult(roots=KEYS, keys=[*KEYS, "k1-dek"], systems=1, record_count=10)

        @activity.defn(name=t.SET_STEP_ACTIVITY)
        async def set_step(step: t.StepInput) -> t.StepResult:
            fakes.record("step", step.step)
            return t.StepResult(step.step)

        @activity.defn(name=t.OPEN_APPROVAL_ACTIVITY)
        async def open_approval(request: t.OpenApprovalInput) -> ApprovalGateSpec:
            fakes.record("approval", (request.action, request.round, request.disposition))
            if request.step:
                fakes.record("step-with-request", request.step)
            opened = activity.info().scheduled_time
            request_id = f"{request.action}-{request.round}"
            while request_id in fakes.request_ids:  # a later request for the same action: a new id
                request_id += "+"
            fakes.request_ids.add(request_id)
            return ApprovalGateSpec(
                request_id=request_id,
                action=request.action,
                requester="sequester",
                requirements=_requirements(request.action),
                veto=True,
                exclude_requester=True,
                opened_at=opened.isoformat(),
                expires_at=(opened + timedelta(hours=4)).isoformat(),
                reminder_after_seconds=[],
                escalate_after_seconds=None,
                escalation_role="ciso",
            )

        @activity.defn(name=t.CONTAIN_AND_CONFIRM_ACTIVITY)
        async def contain_and_confirm(ref: t.IncidentRef) -> t.ContainAndConfirmResult:
            fakes.record("one_activity_to_the_gate", ref.incident)
            contained = await contain(ref)
            request = t.OpenApprovalInput(ref.incident, "confirm_compromise", 1, keys=contained.roots, step="confirm")
            return t.ContainAndConfirmResult(contained, await open_approval(request))

        @activity.defn(name=t.ATTENTION_ACTIVITY)
        async def attention(notice: t.AttentionInput) -> t.AttentionResult:
            fakes.record("attention", notice.message)
            return t.AttentionResult(sent=1)

        @activity.defn(name=t.MARK_COMPROMISED_ACTIVITY)
        async def mark(task: t.KeyTaskInput) -> t.KeyTaskResult:
            fakes.record("mark", task.key)
            return t.KeyTaskResult(task.key, "compromised")

        @activity.defn(name=t.RESTRICT_KEY_ACTIVITY)
        async def restrict(task: t.KeyTaskInput) -> t.KeyTaskResult:
            fakes.record("restrict", task.key)
            return t.KeyTaskResult(task.key, "compromised", verified=True)

        @activity.defn(name=t.REWRAP_PLAN_ACTIVITY)
        async def plan(ref: t.IncidentRef) -> t.RewrapPlan:
            fakes.record("plan", ref.incident)
            return t.RewrapPlan([t.RewrapTarget(ref.incident, "k1", "k1-new", total=100, batch_size=10)])

        @activity.defn(name=t.REWRAP_ACTIVITY)
        async def rewrap(target: t.RewrapTarget) -> t.RewrapResult:
            details = activity.info().heartbeat_details
            done = int(details[0]) if details else 0
            fakes.rewrap_starts.append(done)
            while done < target.total:
                done += target.batch_size
                activity.heartbeat(done)
                if done == 50 and fakes.rewrap_crashes:
                    fakes.rewrap_crashes -= 1
                    raise RuntimeError("worker lost mid-rewrap")
            fakes.record("rewrap", done)
            return t.RewrapResult(target.key, done, target.total)

        @activity.defn(name=t.RESTORE_ACTIVITY)
        async def restore(ref: t.IncidentRef) -> t.RestoreResult:
            fakes.record("restore", ref.incident)
            return t.RestoreResult(restored=KEYS)

        @activity.defn(name=t.HOOKS_ACTIVITY)
        async def hooks(hook: t.HookInput) -> t.HookResult:
            if fakes.fail_hooks:
                fakes.fail_hooks -= 1
                raise ApplicationError("mail relay refused", type="BusinessError", non_retryable=True)
            fakes.record("hook", hook.step)
            return t.HookResult(ran=[])

        @activity.defn(name=t.DESTROY_ACTIVITY)
        async def destroy(ref: t.IncidentRef) -> t.DestroyResult:
            fakes.record("destroy", ref.incident)
            return t.DestroyResult(destroyed=KEYS, kept=[])

        @activity.defn(name=t.CLOSE_ACTIVITY)
        async def close(close_input: t.CloseInput) -> t.CloseResult:
            fakes.record("close", (close_input.resolution, close_input.disposition))
            return t.CloseResult(closed_at="now")

        @activity.defn(name=t.CLOSURE_CHECK_ACTIVITY)
        async def closure_check(check: t.ClosureCheckInput) -> t.ClosureCheckResult:
            blocking = fakes.closure_blocks.pop(0) if fakes.closure_blocks else []
            fakes.record("closure_check", (check.approved, blocking))
            return t.ClosureCheckResult(blocking=blocking)

        @activity.defn(name=EXPIRE_APPROVAL_ACTIVITY)
        async def expire(expire_input: ExpireApprovalInput) -> ExpireApprovalResult:
            fakes.record("expire", expire_input.request_id)
            return ExpireApprovalResult(status="expired")

        @activity.defn(name=SEND_APPROVAL_NOTICE_ACTIVITY)
        async def notice(notice_input: ApprovalNoticeInput) -> ApprovalNoticeResult:
            fakes.record("notice", notice_input.kind)
            return ApprovalNoticeResult(sent=1)

        return [
            contain,
            contain_and_confirm,
            set_step,
            open_approval,
            attention,
            mark,
            restrict,
            plan,
            rewrap,
            restore,
            hooks,
            destroy,
            close,
            closure_check,
            expire,
            notice,
        ]


async def _run(env, fakes: Fakes, severity: str = "high"):
    task_queue = f"tq-{uuid.uuid4()}"
    worker = Worker(
        env.client,
        task_queue=task_queue,
        workflows=[KeyCompromiseIncidentWorkflow, KeyRestrictionBatchWorkflow, KeyRestrictionWorkflow],
        activities=fakes.activities(),
    )
    reference = f"INC-T-{uuid.uuid4().hex[:6]}"
    handle_coroutine = env.client.start_workflow(
        KeyCompromiseIncidentWorkflow.run,
        t.IncidentInput(incident=reference, keys=KEYS, severity=severity),
        id=reference,
        task_queue=task_queue,
    )
    return worker, handle_coroutine


async def _pending(handle, action: str, timeout: float = 20.0) -> str:
    """Wait (real time, no skipping) until the workflow waits on a request for ``action``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status = await handle.query(KeyCompromiseIncidentWorkflow.status)
        for approval in status.approvals:
            if approval.request_id.startswith(action) and approval.status == "pending":
                return str(approval.request_id)
        assert asyncio.get_running_loop().time() < deadline, f"no pending {action}: {status}"
        await asyncio.sleep(0.05)


def _requirements(action: str) -> list[RequirementSpec]:
    """One security lead; for a floored action (two people in two roles), a CISO as well."""
    if floor_of(action).roles > 1:
        return [RequirementSpec(["security_lead"], 1), RequirementSpec(["ciso"], 1)]
    return [RequirementSpec(["security_lead"], 1)]


async def _decide(handle, request_id: str, verdict: str = "approve") -> str:
    voters = [("lead", "security_lead"), ("chief", "ciso")][: len(_requirements(request_id.rsplit("-", 1)[0]))]
    result = ""
    for approver, role in voters if verdict == "approve" else voters[:1]:
        update = ApprovalDecisionUpdate(request_id, str(uuid.uuid4()), approver, role, verdict)
        result = str(await handle.execute_update(APPROVAL_DECISION_UPDATE, update, id=update.decision_id))
    return result


async def _advance(handle, action: str, choice: str = "") -> None:
    await handle.execute_update(t.ADVANCE_UPDATE, t.AdvanceUpdate(action, choice, "cmdr"), id=str(uuid.uuid4()))


async def test_confirmed_compromise_runs_every_step_to_closure(time_skipping_env):
    fakes = Fakes()
    worker, start = await _run(time_skipping_env, fakes)
    async with worker:
        handle = await start
        await _decide(handle, await _pending(handle, "confirm_compromise"))
        await _wait_step(handle, "close")
        status = await handle.query(KeyCompromiseIncidentWorkflow.status)
        assert {k.key for k in status.keys if k.restricted} == {"k1", "k2", "k1-dek"}
        assert [(k.rewrapped, k.to_rewrap) for k in status.keys if k.key == "k1"] == [(100, 100)]
        await _advance(handle, "request_close", "destroy")
        await _decide(handle, await _pending(handle, "close_incident"))
        await _decide(handle, await _pending(handle, "key_destruction"))
        result = await handle.result()
    assert (result.resolution, result.restricted, result.rewrapped) == ("compromise", 3, 100)
    steps = [value for name, value in fakes.calls if name == "step"]
    assert steps == ["restrict", "rewrap", "notify", "regulatory", "close"]  # "confirm" rides on the request
    assert sorted(value for name, value in fakes.calls if name == "restrict") == ["k1", "k1-dek", "k2"]
    assert ("close", ("compromise", "destroy")) in fakes.calls
    assert "destroy" in fakes.names()
    assert ("approval", ("close_incident", 1, "destroy")) in fakes.calls
    assert ("step-with-request", "confirm") in fakes.calls


async def test_false_positive_is_restored_by_its_own_quorum(time_skipping_env):
    fakes = Fakes()
    worker, start = await _run(time_skipping_env, fakes)
    async with worker:
        handle = await start
        assert await _decide(handle, await _pending(handle, "confirm_compromise"), "reject") == "rejected"
        await _decide(handle, await _pending(handle, "restore_false_positive"))
        await _wait_step(handle, "close")
        await _advance(handle, "request_close", "keep_decrypt_only")
        await _decide(handle, await _pending(handle, "close_incident"))
        result = await handle.result()
    assert result.resolution == "false_positive"
    assert "restore" in fakes.names()
    assert "restrict" not in fakes.names()  # never restricted: it was not compromised
    assert "rewrap" not in fakes.names()


async def test_an_expired_confirmation_escalates_and_asks_again(time_skipping_env):
    fakes = Fakes()
    worker, start = await _run(time_skipping_env, fakes)
    async with worker:
        handle = await start
        first = await _pending(handle, "confirm_compromise")
        assert first == "confirm_compromise-1"
        await time_skipping_env.sleep(timedelta(hours=5))  # past the 4 h deadline
        second = await _pending(handle, "confirm_compromise-2")
        assert any("expired" in value for name, value in fakes.calls if name == "attention")
        await _decide(handle, second)
        await _wait_step(handle, "close")
        await _advance(handle, "request_close", "keep_decrypt_only")
        await _decide(handle, await _pending(handle, "close_incident"))
        result = await handle.result()
    assert result.resolution == "compromise"


async def test_rewrap_resumes_from_its_last_heartbeat_after_a_crash(time_skipping_env):
    fakes = Fakes(rewrap_crashes=1)
    worker, start = await _run(time_skipping_env, fakes)
    async with worker:
        handle = await start
        await _decide(handle, await _pending(handle, "confirm_compromise"))
        await _wait_step(handle, "close")
    assert fakes.rewrap_starts == [0, 50]  # the retry started where the crashed attempt had got to
    assert ("rewrap", 100) in fakes.calls


async def test_a_failing_step_tells_the_commander_and_waits_for_a_retry(time_skipping_env):
    fakes = Fakes(fail_hooks=1)
    worker, start = await _run(time_skipping_env, fakes)
    async with worker:
        handle = await start
        await _decide(handle, await _pending(handle, "confirm_compromise"))
        status = await _wait_attention(handle)
        assert "mail relay refused" in status.attention
        assert status.step == "notify"
        await _advance(handle, "retry")
        await _wait_step(handle, "close")
    assert [value for name, value in fakes.calls if name == "hook"] == ["notify", "regulatory"]


@pytest.mark.parametrize(
    ("severity", "alerts"),
    [("critical", ["critical incident opened: keys contained, confirmation requested"]), ("high", [])],
)
async def test_critical_incidents_alert_the_commander_at_once(time_skipping_env, severity, alerts):
    fakes = Fakes()
    worker, start = await _run(time_skipping_env, fakes, severity=severity)
    async with worker:
        handle = await start
        await _pending(handle, "confirm_compromise")
    names = [name for name, _ in fakes.calls]
    assert [value for name, value in fakes.calls if name == "attention"] == alerts
    if alerts:  # after containment, before the confirmation is requested: nobody waits on a vote unwarned
        assert names.index("contain") < names.index("attention") < names.index("approval")


async def test_one_activity_carries_an_incident_to_its_first_gate(time_skipping_env):
    fakes = Fakes()
    worker, start = await _run(time_skipping_env, fakes, severity="high")
    async with worker:
        handle = await start
        await _pending(handle, "confirm_compromise")
        assert (await handle.query(KeyCompromiseIncidentWorkflow.status)).step == "confirm"
    assert fakes.names() == ["one_activity_to_the_gate", "contain", "approval", "step-with-request"]


async def _wait_step(handle, step: str, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (await handle.query(KeyCompromiseIncidentWorkflow.status)).step != step:
        assert asyncio.get_running_loop().time() < deadline, f"never reached {step}"
        await asyncio.sleep(0.05)


async def _wait_attention(handle, containing: str = "", timeout: float = 30.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status = await handle.query(KeyCompromiseIncidentWorkflow.status)
        if status.attention and containing in status.attention:
            return status
        assert asyncio.get_running_loop().time() < deadline, "no attention raised"
        await asyncio.sleep(0.05)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def test_closure_with_an_unwaived_open_item_is_refused_then_asked_again(time_skipping_env):
    """The check before the approval refuses (the commander is told, no close_incident request opens);
    after the approval an item that opened meanwhile refuses again; the third request closes."""
    fakes = Fakes(closure_blocks=[["review not signed off (review)"], [], ["ack missing (acknowledgements)"]])
    worker, start = await _run(time_skipping_env, fakes)
    async with worker:
        handle = await start
        await _decide(handle, await _pending(handle, "confirm_compromise"))
        await _wait_step(handle, "close")
        await _advance(handle, "request_close", "keep_decrypt_only")
        status = await _wait_attention(handle)
        assert "review not signed off" in status.attention
        assert not [a for a in status.approvals if a.request_id.startswith("close_incident")]
        await _advance(handle, "request_close", "keep_decrypt_only")
        await _decide(handle, await _pending(handle, "close_incident"))
        await _wait_attention(handle, "ack missing")
        await _advance(handle, "request_close", "keep_decrypt_only")
        await _decide(handle, await _pending(handle, "close_incident-1+"))
        result = await handle.result()
    assert result.resolution == "compromise"
    checks = [value for name, value in fakes.calls if name == "closure_check"]
    assert [approved for approved, _ in checks] == [False, False, True, False, True]
    assert [v for n, v in fakes.calls if n == "close"] == [("compromise", "keep_decrypt_only")]
