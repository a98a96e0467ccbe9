"""Reads: an incident's clocks, and what is due soon across incidents (for legal)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet

from incidents.models import Incident
from regulatory.clocks import ClockState, clock_state
from regulatory.models import Filing, Obligation

# Shown first: what needs doing; then what was decided not to apply.
STATE_ORDER = {
    "overdue": 0,
    "at_risk": 1,
    "due": 2,
    "tracked": 3,
    "awaiting_trigger": 4,
    "filed_late": 5,
    "filed_on_time": 6,
    "exempt": 7,
    "not_required": 8,
    "not_in_force": 9,
}


@dataclass(frozen=True, slots=True)
class Clock:
    obligation: Obligation
    state: ClockState
    filing: Filing | None


def _clock(obligation: Obligation, now: datetime) -> Clock:
    filing = next(iter(obligation.filings.all()), None)
    state = clock_state(
        status=obligation.status,
        due_at=filing.due_at if filing else obligation.due_at,  # a filing is judged by the due time it met
        trigger_at=obligation.trigger_at,
        now=now,
        filed_at=filing.filed_at if filing else None,
    )
    return Clock(obligation, state, filing)


def incident_clocks(incident: Incident, *, now: datetime) -> list[Clock]:
    obligations = Obligation.objects.filter(incident=incident).prefetch_related("filings")
    clocks = [_clock(o, now) for o in obligations]
    far = now + timedelta(days=36500)
    return sorted(clocks, key=lambda c: (STATE_ORDER.get(c.state.state, 99), c.obligation.due_at or far))


def obligations_due_within(*, now: datetime, hours: int = 72) -> QuerySet[Obligation]:
    """Required, unfiled obligations of open incidents due before ``now + hours`` (overdue included),
    soonest first: the rows of the due list (``clock_of`` turns a page of them into clocks)."""
    return (
        Obligation.objects.filter(
            status="required",
            due_at__isnull=False,
            due_at__lte=now + timedelta(hours=hours),
            filings__isnull=True,
            incident__status=Incident.Status.OPEN,
        )
        .select_related("incident")
        .prefetch_related("filings")
        .order_by("due_at", "id")
    )


def clocks_of(obligations: Iterable[Obligation], *, now: datetime) -> list[Clock]:
    return [_clock(o, now) for o in obligations]


@dataclass(frozen=True, slots=True)
class Question:
    """A fact, decision or event nobody recorded that keeps duties provisional (or waiting), and who
    records it: the page's "decisions to take"."""

    name: str
    meaning: str
    decided_by: str
    obligations: tuple[str, ...]
    effects: tuple[str, ...]
    urgent: bool  # it keeps a required (running) duty provisional; else only later duties wait for it


def open_questions(clocks: list[Clock]) -> list[Question]:
    """What would settle the incident's provisional or waiting duties, most duties first."""
    found: dict[str, dict[str, Any]] = {}
    for clock in clocks:
        obligation = clock.obligation
        if clock.filing is not None or obligation.status not in ("required", "awaiting_trigger"):
            continue
        for pending in obligation.detail.get("pending", []):
            entry = found.setdefault(
                pending["name"], {"pending": pending, "obligations": [], "effects": set(), "urgent": False}
            )
            entry["obligations"].append(obligation.rule_id)
            entry["effects"].add(pending["effect"])
            entry["urgent"] = entry["urgent"] or obligation.status == "required"
    questions = [
        Question(
            name=name,
            meaning=entry["pending"]["meaning"],
            decided_by=entry["pending"]["decided_by"],
            obligations=tuple(entry["obligations"]),
            effects=tuple(sorted(entry["effects"])),
            urgent=entry["urgent"],
        )
        for name, entry in found.items()
    ]
    return sorted(questions, key=lambda q: (not q.urgent, -len(q.obligations), q.name))


@dataclass(frozen=True, slots=True)
class DueList:
    """Required, unfiled obligations of open incidents with a deadline, soonest (overdue) first; how
    many there are; and how many duties still wait for a fact (no deadline yet, or awaiting the event
    that starts their clock): unknown is not "not due"."""

    clocks: list[Clock]
    count: int
    waiting: int


def obligations_due(*, now: datetime, limit: int, commander: Any = None) -> DueList:
    """Three queries whatever the number of obligations; ``commander``: only the incidents they command."""
    unfiled = Obligation.objects.filter(filings__isnull=True, incident__status=Incident.Status.OPEN)
    if commander is not None:
        unfiled = unfiled.filter(incident__commander_id=commander.pk)
    dated = unfiled.filter(status="required", due_at__isnull=False)
    clocks = [
        Clock(o, clock_state(status=o.status, due_at=o.due_at, trigger_at=o.trigger_at, now=now), None)
        for o in dated.select_related("incident").order_by("due_at")[:limit]
    ]
    waiting = unfiled.filter(Q(status="awaiting_trigger") | Q(status="required", due_at__isnull=True)).count()
    return DueList(clocks, dated.count(), waiting)
