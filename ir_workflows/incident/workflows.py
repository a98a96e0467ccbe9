"""``KeyCompromiseIncident``: one durable workflow per incident, from containment to a closed case.

contain → confirm (quorum: compromised, or false positive → restore by quorum) → restrict (a child
workflow per key, in batches) → replace and rewrap (heartbeating, resumable) → notify (hook) →
regulatory clocks (hook) → close (quorum; keys destroyed by quorum or kept decrypt-only).

Each required obligation's clock (``ObligationClock``) runs as a child of this workflow, started by the
``start_obligation_clock`` update whenever an assessment asks for one (at any step but closed). The
children are abandoned on close: closing the incident never stops a legal deadline still running.

Deterministic: no Django, no I/O; every side effect is an activity with an explicit timeout and a
named retry policy. A step that keeps failing tells the commander and waits for a retry.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError, WorkflowAlreadyStartedError

from ir_workflows import retry
from ir_workflows.approvals.gate import ApprovalGates
from ir_workflows.approvals.types import ApprovalGateSpec
from ir_workflows.incident import procedure
from ir_workflows.incident.types import (
    ADD_KEYS_UPDATE,
    ADD_NOTE_UPDATE,
    ADVANCE_UPDATE,
    APPROVAL_ROUNDS_BEFORE_STALL,
    ATTENTION_ACTIVITY,
    CHANGE_SEVERITY_UPDATE,
    CLOSE_ACTIVITY,
    CLOSURE_CHECK_ACTIVITY,
    CONTAIN_ACTIVITY,
    CONTAIN_AND_CONFIRM_ACTIVITY,
    DESTROY_ACTIVITY,
    HOOKS_ACTIVITY,
    INCIDENT_STATUS_QUERY,
    INCIDENT_WORKFLOW,
    KEY_RESTRICTION_WORKFLOW,
    MARK_COMPROMISED_ACTIVITY,
    OPEN_APPROVAL_ACTIVITY,
    RECORD_AWARENESS_UPDATE,
    RESTORE_ACTIVITY,
    RESTRICT_KEY_ACTIVITY,
    RESTRICTION_BATCH_SIZE,
    RESTRICTION_BATCH_WORKFLOW,
    RESTRICTION_CONCURRENCY,
    REWRAP_ACTIVITY,
    REWRAP_CONCURRENCY,
    REWRAP_PLAN_ACTIVITY,
    SET_STEP_ACTIVITY,
    AddKeysUpdate,
    AdvanceUpdate,
    AttentionInput,
    AttentionResult,
    AwarenessUpdate,
    CloseInput,
    CloseResult,
    ClosureCheckInput,
    ClosureCheckResult,
    ContainAndConfirmResult,
    ContainResult,
    DestroyResult,
    HookInput,
    HookResult,
    IncidentInput,
    IncidentRef,
    IncidentResult,
    IncidentStatus,
    KeyProgress,
    KeyTaskInput,
    KeyTaskResult,
    NoteUpdate,
    OpenApprovalInput,
    PendingApproval,
    RestoreResult,
    RestrictionBatchInput,
    RestrictionBatchResult,
    RewrapPlan,
    RewrapResult,
    RewrapTarget,
    SeverityUpdate,
    StepInput,
    StepResult,
    key_restriction_id,
    restriction_batch_id,
)
from ir_workflows.regulatory.types import (
    CLOCK_START_UPDATE,
    OBLIGATION_CLOCK_WORKFLOW,
    ClockStart,
    ClockStartResult,
)

with workflow.unsafe.imports_passed_through():
    from approvals import actions as policies

APPROVED, REJECTED, EXPIRED = "approved", "rejected", "expired"
KEEP, DESTROY = "keep_decrypt_only", "destroy"


@workflow.defn(name=KEY_RESTRICTION_WORKFLOW)
class KeyRestrictionWorkflow:
    """One key: compromised state, decrypt-only on its backend, verified."""

    @workflow.run
    async def run(self, task: KeyTaskInput) -> KeyTaskResult:
        await workflow.execute_activity(
            MARK_COMPROMISED_ACTIVITY,
            task,
            result_type=KeyTaskResult,
            start_to_close_timeout=retry.KEY_STEP_TIMEOUT,
            retry_policy=retry.KEY_STEP,
        )
        result: KeyTaskResult = await workflow.execute_activity(
            RESTRICT_KEY_ACTIVITY,
            task,
            result_type=KeyTaskResult,
            start_to_close_timeout=retry.KEY_STEP_TIMEOUT,
            retry_policy=retry.KEY_STEP,
        )
        return result


@workflow.defn(name=RESTRICTION_BATCH_WORKFLOW)
class KeyRestrictionBatchWorkflow:
    """Up to RESTRICTION_BATCH_SIZE keys, a child each, RESTRICTION_CONCURRENCY at a time: the parent's
    history stays small however many keys the incident holds."""

    @workflow.run
    async def run(self, batch: RestrictionBatchInput) -> RestrictionBatchResult:
        restricted: list[str] = []
        for start in range(0, len(batch.keys), RESTRICTION_CONCURRENCY):
            chunk = batch.keys[start : start + RESTRICTION_CONCURRENCY]
            results = await asyncio.gather(
                *(
                    workflow.execute_child_workflow(
                        KEY_RESTRICTION_WORKFLOW,
                        KeyTaskInput(incident=batch.incident, key=key),
                        id=key_restriction_id(batch.parent_workflow_id or batch.incident, key),
                        result_type=KeyTaskResult,
                    )
                    for key in chunk
                )
            )
            restricted.extend(r.key for r in results if r.verified)
        return RestrictionBatchResult(restricted=restricted)


@workflow.defn(name=INCIDENT_WORKFLOW)
class KeyCompromiseIncidentWorkflow:
    @workflow.init
    def __init__(self, incident: IncidentInput) -> None:
        self._ref = incident.incident
        self._gates = ApprovalGates()
        self._lock = asyncio.Lock()
        self._step = procedure.CONTAIN
        self._severity = incident.severity
        self._aware_at = ""
        self._attention = ""
        self._resolution = ""
        self._roots: list[str] = list(incident.keys)
        self._keys: list[str] = list(incident.keys)
        self._restricted: set[str] = set()
        self._rewrap: dict[str, tuple[int, int]] = {}
        self._notes = 0
        self._retry = False
        self._close_choice = ""
        self._restricting = False
        self._batches = 0
        self._clocks: set[str] = set()  # obligation clocks started as children (workflow ids)

    # --- queries and updates ---------------------------------------------------------------------
    @workflow.query(name=INCIDENT_STATUS_QUERY)
    def status(self) -> IncidentStatus:
        return IncidentStatus(
            incident=self._ref,
            step=self._step,
            severity=self._severity,
            aware_at=self._aware_at,
            attention=self._attention,
            keys=[
                KeyProgress(
                    key=key,
                    restricted=key in self._restricted,
                    rewrapped=self._rewrap.get(key, (0, 0))[0],
                    to_rewrap=self._rewrap.get(key, (0, 0))[1],
                )
                for key in self._keys
            ],
            approvals=[PendingApproval(s.request_id, s.status, s.missing) for s in self._gates.status()],
            notes=self._notes,
            resolution=self._resolution,
        )

    @workflow.update(name=ADD_KEYS_UPDATE)
    async def add_keys(self, update: AddKeysUpdate) -> int:
        """Keys already contained by the service that sent this; restricted here once past confirmation."""
        new = [key for key in update.keys if key not in self._keys]
        self._keys.extend(new)
        if self._restricting and new:
            async with self._lock:
                await self._restrict(new)
        return len(self._keys)

    @add_keys.validator
    def _validate_add_keys(self, update: AddKeysUpdate) -> None:
        if self._step == procedure.CLOSED:
            raise ValueError("the incident is closed")
        if not update.keys:
            raise ValueError("no key to add")

    @workflow.update(name=RECORD_AWARENESS_UPDATE)
    def record_awareness(self, update: AwarenessUpdate) -> str:
        self._aware_at = update.aware_at
        return self._aware_at

    @workflow.update(name=CHANGE_SEVERITY_UPDATE)
    def change_severity(self, update: SeverityUpdate) -> str:
        self._severity = update.severity
        return self._severity

    @change_severity.validator
    def _validate_severity(self, update: SeverityUpdate) -> None:
        if update.severity not in ("low", "medium", "high", "critical"):
            raise ValueError(f"unknown severity {update.severity!r}")

    @workflow.update(name=ADD_NOTE_UPDATE)
    def add_note(self, update: NoteUpdate) -> int:
        self._notes += 1
        return self._notes

    @workflow.update(name=ADVANCE_UPDATE)
    def advance(self, update: AdvanceUpdate) -> str:
        if update.action == "retry":
            self._retry = True
        else:
            self._close_choice = update.choice
        return self._step

    @advance.validator
    def _validate_advance(self, update: AdvanceUpdate) -> None:
        if self._step == procedure.CLOSED:
            raise ValueError("the incident is closed")
        if update.action not in ("retry", "request_close"):
            raise ValueError("advance with retry or request_close")
        if update.action == "request_close" and update.choice not in (KEEP, DESTROY):
            raise ValueError("closing keeps the keys decrypt-only or destroys them")

    @workflow.update(name=CLOCK_START_UPDATE)
    async def start_obligation_clock(self, start: ClockStart) -> ClockStartResult:
        """Start an obligation's clock as a child, once: a re-delivered request, or a clock that already
        exists under that id (started standalone, or already finished), is a no-op."""
        if start.workflow_id in self._clocks:
            return ClockStartResult(start.workflow_id, started=False)
        self._clocks.add(start.workflow_id)  # before the await: a duplicate arriving meanwhile is a no-op
        try:
            await workflow.start_child_workflow(
                OBLIGATION_CLOCK_WORKFLOW,
                start.input,
                id=start.workflow_id,
                # A legal deadline outlives the incident's playbook: closing it leaves the clock running.
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            return ClockStartResult(start.workflow_id, started=False)
        return ClockStartResult(start.workflow_id, started=True)

    @start_obligation_clock.validator
    def _validate_start_obligation_clock(self, start: ClockStart) -> None:
        if self._step == procedure.CLOSED:  # the caller starts the clock standalone instead
            raise ApplicationError("the incident is closed", type="IncidentClosed")
        if not start.workflow_id:
            raise ApplicationError("a clock needs its workflow id", type="ClockInvalid")

    # --- the playbook ----------------------------------------------------------------------------
    @workflow.run
    async def run(self, incident: IncidentInput) -> IncidentResult:
        if workflow.patched("contain-with-confirm-request-v4"):
            first: ApprovalGateSpec | None = None
            if self._severity == "critical":  # the commander hears of it before the vote opens
                self._contained(await self._act(CONTAIN_ACTIVITY, IncidentRef(self._ref), ContainResult))
                await self._tell_commander("critical incident opened: keys contained, confirmation requested")
            else:  # one activity to the first gate: containment checked, confirmation requested (round 1)
                both: ContainAndConfirmResult = await self._act(
                    CONTAIN_AND_CONFIRM_ACTIVITY, IncidentRef(self._ref), ContainAndConfirmResult
                )
                self._contained(both.contained)
                first = both.confirmation
            self._step = procedure.CONFIRM
            confirmed = await self._approval(
                policies.CONFIRM_COMPROMISE, keys=self._roots, step=procedure.CONFIRM, first=first
            )
            if confirmed != APPROVED:
                return await self._false_positive()
            return await self._after_confirmation()
        self._contained(await self._act(CONTAIN_ACTIVITY, IncidentRef(self._ref), ContainResult))
        if workflow.patched("attention-on-critical-v2") and self._severity == "critical":
            await self._tell_commander("critical incident opened: keys contained, confirmation requested")

        if workflow.patched("confirm-step-with-request-v3"):
            self._step = procedure.CONFIRM  # recorded by the activity that opens the request
            confirmed = await self._approval(policies.CONFIRM_COMPROMISE, keys=self._roots, step=procedure.CONFIRM)
        else:
            await self._set_step(procedure.CONFIRM)
            confirmed = await self._approval(policies.CONFIRM_COMPROMISE, keys=self._roots)
        if confirmed != APPROVED:
            return await self._false_positive()
        return await self._after_confirmation()

    def _contained(self, contained: ContainResult) -> None:
        self._roots = list(contained.roots)
        self._keys = list(dict.fromkeys([*contained.keys, *self._keys]))

    async def _after_confirmation(self) -> IncidentResult:
        self._resolution = "compromise"
        await self._set_step(procedure.RESTRICT)
        self._restricting = True
        async with self._lock:
            await self._restrict(list(self._keys))

        await self._set_step(procedure.REWRAP)
        plan = await self._act(REWRAP_PLAN_ACTIVITY, IncidentRef(self._ref), RewrapPlan)
        await self._rewrap_all(plan.targets)

        await self._set_step(procedure.NOTIFY)
        await self._act(HOOKS_ACTIVITY, HookInput(self._ref, procedure.NOTIFY), HookResult)
        await self._set_step(procedure.REGULATORY)
        await self._act(HOOKS_ACTIVITY, HookInput(self._ref, procedure.REGULATORY), HookResult)

        await self._set_step(procedure.CLOSE)
        disposition = await self._close_approved()
        if disposition == DESTROY:
            destroy = await self._approval(policies.KEY_DESTRUCTION, keys=self._roots)
            if destroy == APPROVED:
                await self._act(DESTROY_ACTIVITY, IncidentRef(self._ref), DestroyResult)
            else:
                disposition = KEEP
        return await self._close(disposition)

    async def _false_positive(self) -> IncidentResult:
        await self._set_step(procedure.RESTORE)
        restored = await self._approval(policies.RESTORE_FALSE_POSITIVE, keys=self._keys)
        if restored == APPROVED:
            await self._act(RESTORE_ACTIVITY, IncidentRef(self._ref), RestoreResult)
        else:
            await self._tell_commander("restoring the keys was not approved: they stay suspended")
        self._resolution = "false_positive"
        await self._set_step(procedure.CLOSE)
        await self._close_approved()
        return await self._close(KEEP)

    async def _close_approved(self) -> str:
        """Wait for the commander to ask for closure, then for the close_incident quorum. Open items
        (review, acknowledgements, obligations, sign-offs, rewrap) must be done or waived: checked
        against the commander's request before the approval opens, and against the waivers the
        approvers signed once it is approved (an item that opened meanwhile needs a new request)."""
        checks = workflow.patched("closure-checks-v1")
        while True:
            await workflow.wait_condition(lambda: bool(self._close_choice))
            choice = self._close_choice
            if checks and await self._closure_blocked(approved=False):
                continue
            verdict = await self._approval(policies.CLOSE_INCIDENT, keys=self._roots, disposition=choice)
            if verdict == APPROVED:
                if checks and await self._closure_blocked(approved=True):
                    continue
                return choice
            self._close_choice = ""  # a new request for closure is needed
            await self._tell_commander(f"closing was {verdict}; ask again when ready")

    async def _closure_blocked(self, *, approved: bool) -> bool:
        check = await self._act(CLOSURE_CHECK_ACTIVITY, ClosureCheckInput(self._ref, approved), ClosureCheckResult)
        if not check.blocking:
            return False
        self._close_choice = ""
        await self._tell_commander(
            "closing refused: open items neither done nor waived: " + "; ".join(check.blocking[:10])
        )
        return True

    async def _close(self, disposition: str) -> IncidentResult:
        await self._act(CLOSE_ACTIVITY, CloseInput(self._ref, self._resolution, disposition), CloseResult)
        self._step = procedure.CLOSED
        await workflow.wait_condition(workflow.all_handlers_finished)
        rewrapped = sum(done for done, _ in self._rewrap.values())
        return IncidentResult(self._ref, self._resolution, len(self._restricted), rewrapped)

    # --- steps ------------------------------------------------------------------------------------
    async def _restrict(self, keys: list[str]) -> None:
        pending = [key for key in keys if key not in self._restricted]
        for start in range(0, len(pending), RESTRICTION_BATCH_SIZE):
            self._batches += 1
            parent = workflow.info().workflow_id
            batch = RestrictionBatchInput(self._ref, pending[start : start + RESTRICTION_BATCH_SIZE], parent)
            while True:
                try:
                    result = await workflow.execute_child_workflow(
                        RESTRICTION_BATCH_WORKFLOW,
                        batch,
                        id=restriction_batch_id(parent, self._batches),
                        result_type=RestrictionBatchResult,
                    )
                    break
                except ChildWorkflowError as error:
                    await self._stall(f"restricting keys failed: {error.cause or error}")
                    self._batches += 1
            self._restricted.update(result.restricted)

    async def _rewrap_all(self, targets: list[RewrapTarget]) -> None:
        for target in targets:
            self._rewrap[target.key] = (0, target.total)
        for start in range(0, len(targets), REWRAP_CONCURRENCY):
            chunk = targets[start : start + REWRAP_CONCURRENCY]
            results = await asyncio.gather(*(self._rewrap_one(target) for target in chunk))
            for result in results:
                self._rewrap[result.key] = (result.done, result.total)

    async def _rewrap_one(self, target: RewrapTarget) -> RewrapResult:
        while True:
            try:
                result: RewrapResult = await workflow.execute_activity(
                    REWRAP_ACTIVITY,
                    target,
                    result_type=RewrapResult,
                    start_to_close_timeout=retry.REWRAP_TIMEOUT,
                    heartbeat_timeout=timedelta(seconds=target.heartbeat_seconds),
                    retry_policy=retry.REWRAP,
                )
            except ActivityError as error:
                await self._stall(f"rewrapping key {target.key} failed: {error.cause or error}")
                continue
            if not workflow.patched("rewrap-complete-or-flagged-v1"):
                return result
            self._rewrap[target.key] = (result.done, result.total)
            if result.remaining:  # never silently incomplete: the commander decides when to try again
                await self._stall(
                    f"rewrap of key {target.key} is incomplete: {result.done} of {result.total} item(s) "
                    f"re-encrypted, {result.remaining} still under the compromised key (held by another "
                    "transaction); retry when they are free — the key cannot be destroyed until then"
                )
                continue
            if result.done < result.total:
                await self._tell_commander(
                    f"rewrap of key {target.key}: {result.done} of {result.total} item(s) re-encrypted; "
                    f"{result.total - result.done} left the key's registry meanwhile and were not rewrapped here"
                )
            return result

    async def _approval(
        self,
        action: str,
        *,
        keys: list[str],
        disposition: str = "",
        step: str = "",
        first: ApprovalGateSpec | None = None,
    ) -> str:
        """Open a request and wait for it; an expired request escalates and opens again. ``first``: the
        first round's request, opened already (with containment)."""
        for round_number in range(1, 1000):
            if round_number == 1 and first is not None:
                spec = first
            else:
                spec = await self._act(
                    OPEN_APPROVAL_ACTIVITY,
                    OpenApprovalInput(self._ref, action, round_number, keys=keys, disposition=disposition, step=step),
                    ApprovalGateSpec,
                )
            result = await self._gates.wait(spec)
            if result.status != EXPIRED:
                return result.status
            await self._tell_commander(f"{action} expired without a quorum (round {round_number}): escalated")
            if round_number % APPROVAL_ROUNDS_BEFORE_STALL == 0:
                await self._stall(f"{action} expired {round_number} times: retry when approvers are available")
        return EXPIRED

    async def _act(self, name: str, argument: Any, result_type: type[Any]) -> Any:
        while True:
            try:
                return await workflow.execute_activity(
                    name,
                    argument,
                    result_type=result_type,
                    start_to_close_timeout=retry.KEY_STEP_TIMEOUT,
                    retry_policy=retry.KEY_STEP,
                )
            except ActivityError as error:
                await self._stall(f"step {name} failed: {error.cause or error}")

    async def _set_step(self, step: str) -> None:
        self._step = step
        await self._act(SET_STEP_ACTIVITY, StepInput(self._ref, step), StepResult)

    async def _tell_commander(self, message: str) -> None:
        self._attention = message
        try:
            await workflow.execute_activity(
                ATTENTION_ACTIVITY,
                AttentionInput(self._ref, message),
                result_type=AttentionResult,
                start_to_close_timeout=retry.NOTIFY_TIMEOUT,
                retry_policy=retry.NOTIFY,
            )
        except ActivityError:
            workflow.logger.warning("could not notify the commander of %s: %s", self._ref, message)

    async def _stall(self, message: str) -> None:
        """Escalate instead of spinning: tell the commander, wait for their retry."""
        await self._tell_commander(message)
        self._retry = False
        await workflow.wait_condition(lambda: self._retry)
        self._attention = ""
