"""The scheduled drill's activity: a thin call into the evaluation service."""

from __future__ import annotations

from temporalio import activity

from audit.actors import Actor
from evaluation.services.drills import drill_start
from ir_workflows.drills.types import START_DRILL_ACTIVITY, DrillResult, StartDrillInput
from ir_workflows.incident.activities import django_activity


@activity.defn(name=START_DRILL_ACTIVITY)
@django_activity
def start_drill(start: StartDrillInput) -> DrillResult:
    drill = drill_start(
        actor=Actor.system("drill-schedule"),
        via="schedule",
        started_by="the drill schedule",
        severity=start.severity,
        key=start.key,
    )
    return DrillResult(drill=str(drill.id), incident=drill.incident.reference if drill.incident else "")


DRILL_ACTIVITIES = (start_drill,)
