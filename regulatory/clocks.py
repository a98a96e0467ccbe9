"""Where an obligation stands at a given time (pure): due, at risk, overdue, filed on time or late."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

AT_RISK_FRACTION = 0.75  # past 75 % of the window, a clock is at risk


@dataclass(frozen=True, slots=True)
class ClockState:
    state: str  # due | at_risk | overdue | filed_on_time | filed_late | tracked | <engine status>
    elapsed: float | None  # fraction of the window elapsed (0..1+), None without a due time
    seconds_left: float | None


def clock_state(
    *,
    status: str,
    due_at: datetime | None,
    trigger_at: datetime | None,
    now: datetime,
    filed_at: datetime | None = None,
) -> ClockState:
    if filed_at is not None:
        on_time = due_at is None or filed_at <= due_at
        return ClockState("filed_on_time" if on_time else "filed_late", None, None)
    if status != "required":
        return ClockState(status, None, None)
    if due_at is None:
        return ClockState("tracked", None, None)
    left = (due_at - now).total_seconds()
    elapsed = None
    if trigger_at is not None and due_at > trigger_at:
        elapsed = (now - trigger_at).total_seconds() / (due_at - trigger_at).total_seconds()
    if left <= 0:
        return ClockState("overdue", elapsed, left)
    if elapsed is not None and elapsed >= AT_RISK_FRACTION:
        return ClockState("at_risk", elapsed, left)
    return ClockState("due", elapsed, left)
