"""A one-step workflow whose activity writes a row: proof that server, worker and database work."""

from __future__ import annotations

from temporalio import workflow

from ir_workflows import retry
from ir_workflows.smoke.types import (
    RECORD_STACK_PROBE_ACTIVITY,
    STACK_PROBE_WORKFLOW,
    RecordStackProbeInput,
    RecordStackProbeResult,
    StackProbeInput,
    StackProbeResult,
)


@workflow.defn(name=STACK_PROBE_WORKFLOW)
class StackProbeWorkflow:
    @workflow.run
    async def run(self, probe: StackProbeInput) -> StackProbeResult:
        recorded = await workflow.execute_activity(
            RECORD_STACK_PROBE_ACTIVITY,
            RecordStackProbeInput(probe_id=probe.probe_id),
            result_type=RecordStackProbeResult,
            start_to_close_timeout=retry.DATABASE_WRITE_TIMEOUT,
            retry_policy=retry.DATABASE_WRITE,
        )
        return StackProbeResult(probe_id=probe.probe_id, row_id=recorded.row_id, worker=recorded.worker)
