"""A request with no incident workflow behind it waits in its own workflow: reminders, escalation, expiry."""

from __future__ import annotations

from temporalio import workflow

from ir_workflows.approvals.gate import ApprovalGates
from ir_workflows.approvals.types import APPROVAL_REQUEST_WORKFLOW, ApprovalGateResult, ApprovalGateSpec


@workflow.defn(name=APPROVAL_REQUEST_WORKFLOW)
class ApprovalRequestWorkflow:
    @workflow.init
    def __init__(self, spec: ApprovalGateSpec) -> None:
        # Open the gate before the first activation's updates are validated.
        self._gates = ApprovalGates()
        self._gates.open(spec)

    @workflow.run
    async def run(self, spec: ApprovalGateSpec) -> ApprovalGateResult:
        result = await self._gates.wait(spec)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return result
