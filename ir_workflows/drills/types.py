"""Names, input and result of the scheduled drill (an exercise of the real playbook on canary keys)."""

from __future__ import annotations

from dataclasses import dataclass

DRILL_WORKFLOW = "ScheduledDrill"
START_DRILL_ACTIVITY = "drill_start"
DRILL_SCHEDULE_ID = "sequester-drill-schedule"
DRILL_WORKFLOW_ID = "sequester-drill"  # the schedule appends the run's time


@dataclass(frozen=True, slots=True)
class DrillInput:
    severity: str = "high"


@dataclass(frozen=True, slots=True)
class StartDrillInput:
    key: str  # the workflow id: a retried activity returns the drill already made
    severity: str


@dataclass(frozen=True, slots=True)
class DrillResult:
    drill: str
    incident: str
