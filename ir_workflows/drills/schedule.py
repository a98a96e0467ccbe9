"""The drill schedule in Temporal: created (or its cron updated) when the worker starts."""

from __future__ import annotations

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from ir_workflows.drills.types import DRILL_SCHEDULE_ID, DRILL_WORKFLOW, DRILL_WORKFLOW_ID, DrillInput


def drill_schedule(cron: str, task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(DRILL_WORKFLOW, DrillInput(), id=DRILL_WORKFLOW_ID, task_queue=task_queue),
        spec=ScheduleSpec(cron_expressions=[cron]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def drill_schedule_ensure(client: Client, *, cron: str, task_queue: str) -> str:
    """Create the schedule, or bring an existing one to ``cron`` and ``task_queue``; returns "created" or
    "updated"."""
    schedule = drill_schedule(cron, task_queue)
    try:
        await client.create_schedule(DRILL_SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:

        async def _update(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(DRILL_SCHEDULE_ID).update(_update)
        return "updated"
    return "created"
