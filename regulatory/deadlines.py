"""Counting conventions (REGULATORY.md), applied uniformly and stated in every result.

- hours: trigger instant + N hours of elapsed time on the UTC timeline (never local wall-clock arithmetic);
- calendar_days: the trigger's local date (in the deadline zone) is day 0; due 23:59:59 local on day N;
- business_days: the trigger day is excluded; N business days skipping Sat/Sun and the calendar's holidays
  (observed days and operator days included); due 23:59:59 local, or at the stated cut-off (SEC 17:30 ET);
- months: the same date N months later, else the last day of that month; due 23:59:59 local;
- no_fixed_period: no due time (a tracked duty).
Local times are converted to UTC with the offset valid on that date (zoneinfo), so DST changes are exact.
"""

from __future__ import annotations

import calendar as stdcalendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from regulatory.calendars import BusinessCalendar
from regulatory.types import DeadlineSpec

END_OF_DAY = time(23, 59, 59)

CONVENTIONS: dict[str, str] = {
    "hours": "trigger instant + N hours of elapsed time on the UTC timeline",
    "calendar_days": "trigger's local date is day 0; due 23:59:59 local on day N",
    "business_days": "trigger day excluded; N business days skipping Sat/Sun and calendar holidays "
    "(incl. observed and operator days); due 23:59:59 local unless a cut-off is stated",
    "months": "same date N months later, else the last day of that month; due 23:59:59 local; no weekend roll",
    "no_fixed_period": "no due time: a tracked duty (without undue delay / as soon as feasible)",
}


@dataclass(frozen=True, slots=True)
class Due:
    utc: datetime | None
    local: datetime | None
    tz: str
    explanation: str


def describe(spec: DeadlineSpec) -> str:
    if spec.kind == "hours":
        if spec.minutes and not spec.value:
            return f"{spec.minutes} minutes"
        extra = f" {spec.minutes} minutes" if spec.minutes else ""
        text = f"{spec.value} hours{extra}"
        if spec.cap_event:
            text += f", no later than {spec.cap_hours} hours after {spec.cap_event} (unless the trigger is later)"
        return text
    if spec.kind == "calendar_days":
        anchor = " after the end of the calendar year of the trigger" if spec.anchor == "year_end" else ""
        return f"{spec.value} calendar days{anchor}"
    if spec.kind == "business_days":
        cutoff = f", cut-off {spec.cutoff}" if spec.cutoff else ""
        return f"{spec.value} business days ({spec.calendar}{cutoff})"
    if spec.kind == "months":
        return f"{spec.value} month(s)"
    return "no fixed period"


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    last = stdcalendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def local_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def due_compute(
    spec: DeadlineSpec,
    trigger_at: datetime,
    *,
    tz: str,
    calendars: Callable[[str], BusinessCalendar],
    cap_at: datetime | None = None,
) -> Due:
    """When the duty falls due. ``trigger_at`` is timezone-aware; ``tz`` is the deadline zone."""
    zone_name = spec.tz or tz
    zone = ZoneInfo(zone_name)
    trigger_utc = trigger_at.astimezone(UTC)
    kind = spec.kind
    if kind == "hours":
        due = trigger_utc + timedelta(hours=spec.value, minutes=spec.minutes)
        text = f"{trigger_utc:%Y-%m-%dT%H:%M:%SZ} + {describe(spec)} (UTC timeline)"
        if spec.cap_event and cap_at is not None:
            cap = cap_at.astimezone(UTC) + timedelta(hours=spec.cap_hours)
            if trigger_utc <= cap and cap < due:
                due = cap
                text += f"; capped at {spec.cap_event} + {spec.cap_hours} h = {cap:%Y-%m-%dT%H:%M:%SZ}"
            elif trigger_utc > cap:
                text += f"; trigger later than {spec.cap_event} + {spec.cap_hours} h, so {spec.value} h from trigger"
        return Due(due, due.astimezone(zone), zone_name, text)
    if kind == "no_fixed_period":
        return Due(None, None, zone_name, CONVENTIONS["no_fixed_period"])
    start = trigger_utc.astimezone(zone).date()
    if spec.anchor == "year_end":
        start = date(start.year, 12, 31)
    if kind == "calendar_days":
        day = start + timedelta(days=spec.value)
        at = END_OF_DAY
        text = f"day 0 = {start.isoformat()} ({zone_name}); day {spec.value} = {day.isoformat()}, 23:59:59 local"
    elif kind == "months":
        day = add_months(start, spec.value)
        at = END_OF_DAY
        text = f"{start.isoformat()} + {spec.value} month(s) = {day.isoformat()}, 23:59:59 local ({zone_name})"
    elif kind == "business_days":
        business = calendars(spec.calendar)
        day = business.add_business_days(start, spec.value)
        at = time.fromisoformat(spec.cutoff) if spec.cutoff else END_OF_DAY
        skipped = business.skipped(start, day)
        text = (
            f"day 0 = {start.isoformat()} ({zone_name}, excluded); business day {spec.value} on calendar "
            f"{spec.calendar} = {day.isoformat()}, {at.isoformat()} local"
        )
        if skipped:
            text += "; holidays skipped: " + ", ".join(skipped)
    else:
        raise ValueError(f"no due time for deadline kind {kind!r}")
    due = local_to_utc(day, at, zone)
    return Due(due, due.astimezone(zone), zone_name, text)
