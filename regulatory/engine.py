"""The engine: facts + catalogue → obligations. Pure: no I/O, no database, no clock (``as_of`` is given).

For each rule, in this order: is it in force (at the trigger time, else ``as_of``)? Does it apply (every
``applies`` condition)? A missing human decision leaves it ``awaiting_trigger``; an exemption or an
encryption safe harbour (kept only while the key is not compromised) makes it ``exempt``; without its
trigger event it is ``awaiting_trigger``; else it is ``required`` with a due time (or none for "without
undue delay" duties, which stay tracked tasks). Every step adds a reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time
from functools import cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from regulatory.calendars import BusinessCalendar, calendar_build, country_calendar
from regulatory.conditions import condition_eval, fact_value, shown
from regulatory.deadlines import CONVENTIONS, Due, describe, due_compute
from regulatory.facts import Facts
from regulatory.types import Catalogue, Condition, DeadlineSpec, Rule

Status = Literal["required", "not_required", "exempt", "not_in_force", "awaiting_trigger"]
STATUSES: tuple[str, ...] = ("required", "not_required", "exempt", "not_in_force", "awaiting_trigger")


@dataclass(frozen=True, slots=True)
class MilestoneDue:
    label: str
    trigger_event: str
    due_utc: datetime | None
    due_local: datetime | None
    explanation: str


@dataclass(frozen=True, slots=True)
class Relief:
    rule: str
    due_utc: datetime
    due_local: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Obligation:
    id: str
    regime: str
    jurisdiction: str
    recipient: str
    status: Status
    trigger_event: str
    trigger_at: datetime | None
    deadline: DeadlineSpec
    rule: str
    qualifier: str
    due_utc: datetime | None
    due_local: datetime | None
    deadline_tz: str
    counting: str
    explanation: str
    reasons: tuple[str, ...]
    citation: str
    confidence: str
    in_force: str
    decisions: tuple[dict[str, Any], ...] = ()
    milestones: tuple[MilestoneDue, ...] = ()
    relief: Relief | None = None
    modifier: bool = False


@dataclass(slots=True)
class _Work:
    reasons: list[str] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)


def _decision_used(condition: Condition, facts: Facts, work: _Work) -> None:
    for name in condition.facts():
        if name.startswith("decisions."):
            decision = facts.decision(name.removeprefix("decisions."))
            if decision is not None and all(d["name"] != name for d in work.decisions):
                work.decisions.append(
                    {
                        "name": name.removeprefix("decisions."),
                        "value": decision["value"],
                        "by": decision["by"],
                        "at": decision["at"],
                    }
                )


def _pending_decisions(condition: Condition, facts: Facts) -> list[str]:
    return [
        name.removeprefix("decisions.")
        for name in condition.facts()
        if name.startswith("decisions.") and facts.decision(name.removeprefix("decisions.")) is None
    ]


def _not_in_force(rule: Rule, facts: Facts, reference: datetime | None) -> str | None:
    force = rule.in_force
    if force.status == "proposed":
        return f"not in force: a proposal ({force.label}); shown for awareness only"
    if force.status == "repealed":
        return f"not in force: repealed ({force.label})"
    start = force.from_date
    if force.from_by_fact:
        value = fact_value(facts.values, force.from_by_fact)
        if isinstance(value, str) and value in force.from_by:
            start = force.from_by[value]
    if (start or force.until_date) and reference is None:
        return None  # cannot tell without a time: decided by the caller's as_of
    assert reference is None or reference.tzinfo is not None
    day = reference.date() if reference else None
    if start and day and day < start:
        return f"not in force on {day.isoformat()}: applies from {start.isoformat()} ({force.label})"
    if force.until_date and day and day >= force.until_date:
        return f"not in force on {day.isoformat()}: superseded on {force.until_date.isoformat()} ({force.label})"
    return None


def _harbour(rule: Rule, facts: Facts, work: _Work) -> bool:
    """True when the encryption safe harbour holds (the duty is then exempt)."""
    harbour = rule.safe_harbour
    encryption = facts.values["encryption"]
    encrypted = encryption.get("encrypted") is True
    compromised = encryption.get("key_compromised") is True
    if harbour.kind == "none":
        return False
    if harbour.kind == "encryption_unless_key_compromised":
        if encrypted and not compromised:
            work.reasons.append(
                f"exempt: encryption safe harbour kept (data encrypted, key not compromised): {harbour.text}"
            )
            return True
        if encrypted and compromised:
            work.reasons.append(f"safe harbour lost: the key is compromised: {harbour.key_compromise or harbour.text}")
        else:
            work.reasons.append("no safe harbour: the data was not encrypted (or encryption was not stated)")
        return False
    note = harbour.key_compromise if compromised and harbour.key_compromise else harbour.text
    state = "key compromised" if compromised else ("data encrypted" if encrypted else "data not encrypted")
    if harbour.kind == "risk_factor":
        work.reasons.append(f"encryption is a factor of the human risk decision, not a safe harbour ({state}): {note}")
    else:
        work.reasons.append(f"encryption can spare individuals' notice only, not this notice ({state}): {note}")
    return False


def _variant(rule: Rule, facts: Facts, work: _Work) -> DeadlineSpec:
    for variant in rule.variants:
        if all(condition_eval(c, facts.values) is True for c in variant.when):
            for condition in variant.when:
                _decision_used(condition, facts, work)
            work.reasons.append(f"deadline variant: {variant.reason}")
            return variant.deadline
    return rule.deadline


def _base(rule: Rule, facts: Facts, status: Status, work: _Work, spec: DeadlineSpec | None = None) -> Obligation:
    spec = spec or rule.deadline
    zone = spec.tz or facts.deadline_tz
    trigger_at = facts.events.get(rule.trigger_event)
    reasons = list(work.reasons)
    if rule.confidence != "high":
        reasons.append(
            f"confidence {rule.confidence}: drawn from a summary, not the primary text; check before relying"
        )
    return Obligation(
        id=rule.id,
        regime=rule.regime,
        jurisdiction=rule.jurisdiction,
        recipient=rule.recipient,
        status=status,
        trigger_event=rule.trigger_event,
        trigger_at=trigger_at,
        deadline=spec,
        rule=f"{describe(spec)} after {rule.trigger_event}" if spec.kind != "modifier" else "deadline modifier",
        qualifier=rule.qualifier,
        due_utc=None,
        due_local=None,
        deadline_tz=zone,
        counting=CONVENTIONS.get(spec.kind, ""),
        explanation="",
        reasons=tuple(reasons),
        citation=rule.citation,
        confidence=rule.confidence,
        in_force=rule.in_force.label,
        decisions=tuple(work.decisions),
        modifier=spec.kind == "modifier",
    )


def _milestones(
    rule: Rule, facts: Facts, trigger_at: datetime, calendars: Callable[[str], BusinessCalendar]
) -> tuple[MilestoneDue, ...]:
    out = []
    for milestone in rule.milestones:
        if not all(condition_eval(c, facts.values) is True for c in milestone.when):
            continue
        event = milestone.trigger_event or rule.trigger_event
        at = facts.events.get(event) if milestone.trigger_event else trigger_at
        if at is None:
            out.append(MilestoneDue(milestone.label, event, None, None, f"awaiting {event}"))
            continue
        due = due_compute(milestone.deadline, at, tz=facts.deadline_tz, calendars=calendars)
        out.append(MilestoneDue(milestone.label, event, due.utc, due.local, due.explanation))
    return tuple(out)


def _assess_rule(
    rule: Rule, facts: Facts, calendars: Callable[[str], BusinessCalendar], as_of: datetime | None
) -> Obligation:
    work = _Work()
    trigger_at = facts.events.get(rule.trigger_event)
    reason = _not_in_force(rule, facts, trigger_at or as_of)
    if reason:
        work.reasons.append(reason)
        return _base(rule, facts, "not_in_force", work)
    if rule.deadline.kind == "modifier":
        work.reasons.append(f"not a duty of its own: adjusts the deadlines of {', '.join(rule.modifies)}")
        return _base(rule, facts, "not_required", work)
    failed, pending = [], []
    for condition in rule.applies:
        result = condition_eval(condition, facts.values)
        _decision_used(condition, facts, work)
        if result is True:
            work.reasons.append(f"applies: {condition.reason} ({shown(condition, facts.values)})")
        elif result is None and _pending_decisions(condition, facts):
            pending.append(condition)
        else:
            failed.append(condition)
    if failed:
        for condition in failed:
            work.reasons.append(f"not required: {condition.reason} does not hold ({shown(condition, facts.values)})")
        return _base(rule, facts, "not_required", work)
    for condition in rule.exempt_if:
        result = condition_eval(condition, facts.values)
        _decision_used(condition, facts, work)
        if result is True:
            work.reasons.append(f"exempt: {condition.reason} ({shown(condition, facts.values)})")
            return _base(rule, facts, "exempt", work)
        if result is None:
            work.reasons.append(f"exemption not assumed (no decision recorded): {condition.reason}")
    if _harbour(rule, facts, work):
        return _base(rule, facts, "exempt", work)
    if pending:
        for condition in pending:
            names = ", ".join(_pending_decisions(condition, facts))
            work.reasons.append(f"awaiting human decision ({names}): {condition.reason}")
        return _base(rule, facts, "awaiting_trigger", work)
    spec = _variant(rule, facts, work)
    if trigger_at is None:
        work.reasons.append(f"awaiting trigger: {rule.trigger_event} not recorded ({rule.trigger_description})")
        return _base(rule, facts, "awaiting_trigger", work, spec)
    cap_at = facts.events.get(spec.cap_event) if spec.cap_event else None
    if spec.cap_event and cap_at is None:
        work.reasons.append(f"{spec.cap_event} not recorded: the {spec.cap_hours} h cap could not be applied")
    due: Due = due_compute(spec, trigger_at, tz=facts.deadline_tz, calendars=calendars, cap_at=cap_at)
    work.reasons.append(f"trigger: {rule.trigger_event} at {trigger_at:%Y-%m-%dT%H:%M:%SZ}")
    if due.utc is None:
        work.reasons.append("no fixed period: tracked as an open duty without a due time (never an invented date)")
    base = _base(rule, facts, "required", work, spec)
    return replace(
        base,
        due_utc=due.utc,
        due_local=due.local,
        deadline_tz=due.tz,
        explanation=due.explanation,
        milestones=_milestones(rule, facts, trigger_at, calendars),
    )


def _relief(modifier: Rule, facts: Facts, obligation: Obligation, catalogue: Catalogue) -> Relief | None:
    """DORA-style weekend relief: a due time on a non-working day may move to 12:00 the next working day."""
    if obligation.status != "required" or obligation.due_utc is None:
        return None
    values = {**facts.values, "target": {"id": obligation.id}}
    if modifier.modifier_unless and all(condition_eval(c, values) is True for c in modifier.modifier_unless):
        return None
    member_state = facts.values["entity"].get("member_state", "")
    calendar: BusinessCalendar
    if member_state in catalogue.calendars:
        calendar = calendar_build(catalogue, member_state)
    elif member_state:
        calendar = country_calendar(member_state)
    else:
        calendar = BusinessCalendar("weekends", [], {})
    zone = ZoneInfo(facts.deadline_tz)
    local_day = obligation.due_utc.astimezone(zone).date()
    if calendar.is_business_day(local_day):
        return None
    day = calendar.next_business_day(local_day)
    due_local = datetime.combine(day, time(12, 0), tzinfo=zone)
    where = member_state or "no Member State given: weekends only"
    return Relief(
        rule=modifier.id,
        due_utc=due_local.astimezone(UTC),
        due_local=due_local,
        reason=f"due on a non-working day ({local_day.isoformat()}, calendar {where}): may be submitted by "
        f"12:00 on {day.isoformat()} ({modifier.citation})",
    )


def obligations_assess(facts: Facts, catalogue: Catalogue, *, as_of: datetime | None = None) -> list[Obligation]:
    """Every rule of the catalogue, assessed on the facts, in catalogue order."""

    @cache
    def calendars(name: str) -> BusinessCalendar:
        return calendar_build(catalogue, name)

    reference = facts.as_of or as_of
    out = [_assess_rule(rule, facts, calendars, reference) for rule in catalogue.rules]
    by_id = {obligation.id: index for index, obligation in enumerate(out)}
    for rule in catalogue.rules:
        if rule.deadline.kind != "modifier" or out[by_id[rule.id]].status == "not_in_force":
            continue
        for target in rule.modifies:
            relief = _relief(rule, facts, out[by_id[target]], catalogue)
            if relief is not None:
                index = by_id[target]
                out[index] = replace(
                    out[index], relief=relief, reasons=(*out[index].reasons, f"relief: {relief.reason}")
                )
    return out
