"""Shaping clocks for the pages: countdown text and the timeline picture's geometry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from regulatory.models import Obligation
from regulatory.selectors import Clock
from regulatory.serialize import utc_z

WIDTH = 900
ROW = 22
LEFT = 180
COLOURS = {
    "overdue": "#b00020",
    "at_risk": "#d97706",
    "due": "#2563eb",
    "filed_on_time": "#15803d",
    "filed_late": "#7c2d12",
}


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    state: str
    x: float
    width: float
    y: float
    due: str
    title: str
    colour: str
    provisional: bool = False


@dataclass(frozen=True, slots=True)
class Timeline:
    bars: list[Bar]
    now_x: float
    height: int
    start: str
    end: str
    width: int = WIDTH
    left: int = LEFT


def _title(obligation: Obligation) -> str:
    trigger = obligation.detail.get("trigger_used") or obligation.trigger_event
    provisional = " (provisional)" if obligation.detail.get("provisional") else ""
    return f"{obligation.rule_id}: {trigger} → due {utc_z(obligation.due_at)}{provisional}"


def timeline(clocks: list[Clock], now: datetime) -> Timeline | None:
    """Bars from trigger to due time for every clock that has both (filed ones included)."""
    timed = [c for c in clocks if c.obligation.due_at and c.obligation.trigger_at]
    if not timed:
        return None
    start = min(min(c.obligation.trigger_at for c in timed if c.obligation.trigger_at), now)
    end = max(max(c.obligation.due_at for c in timed if c.obligation.due_at), now)
    span = max((end - start).total_seconds(), 1.0)
    scale = (WIDTH - LEFT - 10) / span

    def x(at: datetime) -> float:
        return round(LEFT + (at - start).total_seconds() * scale, 1)

    bars = []
    for index, clock in enumerate(sorted(timed, key=lambda c: c.obligation.due_at or now)):
        obligation = clock.obligation
        assert obligation.trigger_at is not None
        assert obligation.due_at is not None
        left = x(obligation.trigger_at)
        bars.append(
            Bar(
                label=obligation.rule_id,
                state=clock.state.state,
                x=left,
                width=max(x(obligation.due_at) - left, 2.0),
                y=10 + index * ROW,
                due=utc_z(obligation.due_at) or "",
                title=_title(obligation),
                colour=COLOURS.get(clock.state.state, "#6b7280"),
                provisional=bool(obligation.detail.get("provisional")),
            )
        )
    return Timeline(
        bars=bars, now_x=x(now), height=20 + len(bars) * ROW, start=utc_z(start) or "", end=utc_z(end) or ""
    )
