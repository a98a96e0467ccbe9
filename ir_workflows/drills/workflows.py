"""``ScheduledDrill``: what the drill schedule starts. It makes the canary keys and reports them through
the real signal path (an activity); the exercise's own ``KeyCompromiseIncident`` workflow then runs the
playbook, with people approving as in a real incident. Deterministic: no Django, no I/O."""

from __future__ import annotations

from temporalio import workflow

from ir_workflows import retry
from ir_workflows.drills.types import DRILL_WORKFLOW, START_DRILL_ACTIVITY, DrillInput, DrillResult, StartDrillInput


@workflow.defn(name=DRILL_WORKFLOW)
class ScheduledDrillWorkflow:
    @workflow.run
    async def run(self, drill: DrillInput) -> DrillResult:
        result: DrillResult = await workflow.execute_activity(
            START_DRILL_ACTIVITY,
            StartDrillInput(key=workflow.info().workflow_id, severity=drill.severity),
            result_type=DrillResult,
            start_to_close_timeout=retry.DATABASE_WRITE_TIMEOUT,
            retry_policy=retry.DATABASE_WRITE,
        )
        return result
