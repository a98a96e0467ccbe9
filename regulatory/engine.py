"""The engine: facts + catalogue → obligations. Pure: no I/O, no database, no clock (``as_of`` is given).

Each legal entity of the facts (the principal one, then each of ``entities``) is assessed on its own, and
for each, every rule, in this order: is it in force (at the trigger time, else ``as_of``)? Does it apply
(every ``applies`` condition)? A condition that a recorded fact contradicts makes it ``not_required``; a
recorded exemption decision or an encryption safe harbour that holds (the key not compromised) makes it
``exempt``. A condition on a fact or a human decision that nobody recorded is never read as "no": the
duty is ``required`` and **provisional**, its due time running from its trigger, and ``pending`` names each
fact or decision that could lift it and who decides it. Without its trigger it is ``awaiting_trigger``;
a missing knowledge event falls back to the earliest recorded one (``reasons`` says so). Every step adds
a reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time
from functools import cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from regulatory.calendars import BusinessCalendar, calendar_build, country_calendar
from regulatory.conditions import condition_eval, fact_value, shown, unknown_facts
from regulatory.deadlines import CONVENTIONS, Due, describe, due_compute
from regulatory.facts import PRIMARY, Facts, entity_views
from regulatory.types import Catalogue, Condition, DeadlineSpec, Rule

Status = Literal["required", "not_required", "exempt", "not_in_force", "awaiting_trigger"]
STATUSES: tuple[str, ...] = ("required", "not_required", "exempt", "not_in_force", "awaiting_trigger")

# Facts the engine derives, named by the fact a person records.
DERIVED = {"data.max_subjects_per_state": "data.subjects_by_state"}

LIFT = "could make it not required"
EXEMPT = "could exempt it"
TRIGGER = "sets its trigger: the due time then runs from it"
DEADLINE = "could change the due time"


@dataclass(frozen=True, slots=True)
class Pending:
    """A fact, decision or event not recorded that could change the obligation, and who records it."""

    name: str  # a fact path: "decisions.unlikely_risk", "entity.roles", "events.aware_at"
    meaning: str
    decided_by: str
    effect: str
    reason: str


@dataclass(frozen=True, slots=True)
class MilestoneDue:
    label: str
    trigger_event: str
    due_utc: datetime | None
    due_local: datetime | None
    explanation: str
    status: str = "required"
    pending: tuple[Pending, ...] = ()


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
    rule_id: str = ""
    entity_id: str = ""
    entity_name: str = ""
    provisional: bool = False
    pending: tuple[Pending, ...] = ()
    trigger_used: str = ""  # the event the due time actually runs from (a fallback, or the earliest)
    filed_event: str = ""


@dataclass(slots=True)
class _Work:
    catalogue: Catalogue
    reasons: list[str] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    pending: list[Pending] = field(default_factory=list)

    def wait_for(self, name: str, effect: str, reason: str) -> None:
        name = DERIVED.get(name, name)
        if any(p.name == name and p.effect == effect for p in self.pending):
            return
        term = self.catalogue.term(name)
        self.pending.append(Pending(name, term.meaning, term.decided_by, effect, reason))


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


def _harbour(rule: Rule, values: dict[str, Any], work: _Work) -> bool:
    """True when the encryption safe harbour holds (the duty is then exempt). Encryption facts that are
    not recorded leave the harbour undecided: pending, never assumed either way."""
    harbour = rule.safe_harbour
    encryption = values["encryption"]
    encrypted = encryption.get("encrypted")
    compromised = encryption.get("key_compromised")
    if harbour.kind == "none":
        return False
    if harbour.kind == "encryption_unless_key_compromised":
        if encrypted is True and compromised is False:
            work.reasons.append(
                f"exempt: encryption safe harbour kept (data encrypted, key not compromised): {harbour.text}"
            )
            return True
        if encrypted is True and compromised is True:
            work.reasons.append(f"safe harbour lost: the key is compromised: {harbour.key_compromise or harbour.text}")
        elif encrypted is False:
            work.reasons.append("no safe harbour: the data was not encrypted")
        else:
            missing = "encryption.encrypted" if encrypted is None else "encryption.key_compromised"
            work.reasons.append(f"safe harbour undecided ({missing} not recorded): {harbour.text}")
            work.wait_for(missing, EXEMPT, f"encryption safe harbour: {harbour.text}")
        return False
    note = harbour.key_compromise if compromised and harbour.key_compromise else harbour.text
    state = "key compromised" if compromised else ("data encrypted" if encrypted else "data not encrypted")
    if harbour.kind == "risk_factor":
        work.reasons.append(f"encryption is a factor of the human risk decision, not a safe harbour ({state}): {note}")
    else:
        work.reasons.append(f"encryption can spare individuals' notice only, not this notice ({state}): {note}")
    return False


def _jurisdiction_scope(conditions: tuple[Condition, ...]) -> set[str]:
    codes: set[str] = set()
    for condition in conditions:
        if condition.any_of:
            codes |= _jurisdiction_scope(condition.any_of)
        elif condition.fact == "jurisdictions" and condition.operator in ("contains", "contains_any"):
            operand = condition.operand
            codes |= {str(c).upper() for c in (operand if isinstance(operand, list) else [operand])}
    return codes


def _merged(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """One data view from several blocks: a figure is known only when every block gives it."""
    data: dict[str, Any] = {"blocks": [b["name"] for b in blocks]}
    if not blocks:
        return {**data, "personal_data": False, "categories": [], "subjects_total": 0, "subjects_by_state": {}}
    flags = [b.get("personal_data") for b in blocks]
    if any(flag is True for flag in flags):
        data["personal_data"] = True
    elif all(flag is False for flag in flags):
        data["personal_data"] = False
    if all("categories" in b for b in blocks):
        data["categories"] = sorted({c for b in blocks for c in b["categories"]})
    if all("subjects_total" in b for b in blocks):
        data["subjects_total"] = sum(b["subjects_total"] for b in blocks)
    if all("subjects_by_state" in b for b in blocks):
        by_state: dict[str, int] = {}
        for block in blocks:
            for state, count in block["subjects_by_state"].items():
                by_state[state] = by_state.get(state, 0) + count
        data["subjects_by_state"] = by_state
        data["max_subjects_per_state"] = max(by_state.values(), default=0)
    if all("encrypted" in b for b in blocks):
        data["encrypted"] = all(b["encrypted"] for b in blocks)
    return data


def _data_view(rule: Rule, facts: Facts, work: _Work) -> dict[str, Any]:
    """The facts as this rule reads them: with data blocks, only the blocks under its law (and, where a
    block names the entities whose data it is, only this entity's)."""
    values = facts.values
    blocks = values["data"].get("blocks")
    if blocks is None:
        return values
    entity_id = facts.entity_id or values["entity"].get("id", PRIMARY)
    blocks = [b for b in blocks if "entities" not in b or entity_id in b["entities"]]
    scope = set(rule.data_scope) if rule.data_scope is not None else _jurisdiction_scope(rule.applies)
    chosen = [b for b in blocks if not scope or "jurisdictions" not in b or scope & set(b["jurisdictions"])]
    data = _merged(chosen)
    where = f"(scope {', '.join(sorted(scope))})" if scope else "(every block)"
    names = ", ".join(data["blocks"]) or "none"
    work.reasons.append(f"data read: {names} {where}")
    encryption = dict(values["encryption"])
    if "encrypted" not in encryption and "encrypted" in data:
        encryption["encrypted"] = data["encrypted"]
    return {**values, "data": data, "encryption": encryption}


def _trigger(rule: Rule, facts: Facts, work: _Work) -> tuple[datetime | None, str, list[str]]:
    """When the duty's clock starts, from which event, and the reasons to say so. The rule's own event if
    recorded; for rules that take the earliest knowledge event (card brands), that; else, for a knowledge
    event not recorded, the earliest recorded knowledge event (provisional: the own event is pending)."""
    order = work.catalogue.knowledge_events
    recorded = [(facts.events[name], index, name) for index, name in enumerate(order) if name in facts.events]
    own = facts.events.get(rule.trigger_event)
    if rule.trigger_earliest:
        candidates = recorded + ([(own, -1, rule.trigger_event)] if own is not None else [])
        if not candidates:
            return None, rule.trigger_event, []
        at, _, name = min(candidates)
        return at, name, [f"trigger: the earliest recorded knowledge event, {name} at {at:%Y-%m-%dT%H:%M:%SZ}"]
    if own is not None:
        return own, rule.trigger_event, [f"trigger: {rule.trigger_event} at {own:%Y-%m-%dT%H:%M:%SZ}"]
    if rule.trigger_fallback and rule.trigger_event in order and recorded:
        at, _, name = min(recorded)
        work.wait_for(f"events.{rule.trigger_event}", TRIGGER, rule.trigger_description)
        return (
            at,
            name,
            [
                f"trigger: {rule.trigger_event} not recorded; falls back to the earliest recorded knowledge event, "
                f"{name} at {at:%Y-%m-%dT%H:%M:%SZ} (fallback order: {', '.join(order)})"
            ],
        )
    return None, rule.trigger_event, []


def _variant(
    rule: Rule,
    values: dict[str, Any],
    facts: Facts,
    work: _Work,
    trigger_at: datetime | None,
    calendars: Callable[[str], BusinessCalendar],
) -> DeadlineSpec:
    """The first variant whose conditions hold, else the rule's deadline; while an earlier variant with a
    shorter period is undecided, its due time is kept (never a later date from a missing fact)."""
    chosen = rule.deadline
    undecided: list[tuple[Any, list[Condition]]] = []
    for variant in rule.variants:
        results = [condition_eval(c, values) for c in variant.when]
        if all(result is True for result in results):
            for condition in variant.when:
                _decision_used(condition, facts, work)
            work.reasons.append(f"deadline variant: {variant.reason}")
            chosen = variant.deadline
            break
        if not any(result is False for result in results):
            undecided.append((variant, [c for c, r in zip(variant.when, results, strict=True) if r is None]))
    if trigger_at is None or not undecided:
        return chosen

    def due(spec: DeadlineSpec) -> datetime | None:
        return due_compute(spec, trigger_at, tz=facts.deadline_tz, calendars=calendars).utc

    for variant, conditions in undecided:
        earlier, current = due(variant.deadline), due(chosen)
        if earlier is not None and (current is None or earlier < current):
            names = sorted({name for c in conditions for name in unknown_facts(c, values)})
            work.reasons.append(
                f"provisional deadline: {variant.reason}, until {', '.join(names)} is recorded "
                "(the earlier due time is kept)"
            )
            for name in names:
                work.wait_for(name, DEADLINE, variant.reason)
            chosen = variant.deadline
    return chosen


def _base(
    rule: Rule, facts: Facts, status: Status, work: _Work, spec: DeadlineSpec | None = None, *, pending: bool = False
) -> Obligation:
    spec = spec or rule.deadline
    zone = spec.tz or facts.deadline_tz
    reasons = list(work.reasons)
    if rule.confidence != "high":
        reasons.append(
            f"confidence {rule.confidence}: drawn from a summary, not the primary text; check before relying"
        )
    waiting = tuple(work.pending) if pending else ()
    return Obligation(
        id=rule.id if not facts.entity_id else f"{rule.id}@{facts.entity_id}",
        regime=rule.regime,
        jurisdiction=rule.jurisdiction,
        recipient=rule.recipient,
        status=status,
        trigger_event=rule.trigger_event,
        trigger_at=None,
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
        rule_id=rule.id,
        entity_id=facts.entity_id or str(facts.values["entity"].get("id", "")),
        entity_name=facts.entity_name,
        provisional=status == "required" and bool(waiting),
        pending=waiting,
        trigger_used=rule.trigger_event,
        filed_event=rule.filed_event,
    )


def _milestones(
    rule: Rule,
    facts: Facts,
    values: dict[str, Any],
    trigger_at: datetime,
    calendars: Callable[[str], BusinessCalendar],
    catalogue: Catalogue,
) -> tuple[MilestoneDue, ...]:
    out = []
    for milestone in rule.milestones:
        results = [condition_eval(c, values) for c in milestone.when]
        if any(result is False for result in results):
            continue
        work = _Work(catalogue)
        for condition, result in zip(milestone.when, results, strict=True):
            if result is None:
                for name in unknown_facts(condition, values):
                    work.wait_for(name, LIFT, condition.reason)
        event = milestone.trigger_event or rule.trigger_event
        at = facts.events.get(event) if milestone.trigger_event else trigger_at
        if at is None:
            out.append(
                MilestoneDue(
                    milestone.label, event, None, None, f"awaiting {event}", "awaiting_trigger", tuple(work.pending)
                )
            )
            continue
        due = due_compute(milestone.deadline, at, tz=facts.deadline_tz, calendars=calendars)
        out.append(
            MilestoneDue(milestone.label, event, due.utc, due.local, due.explanation, "required", tuple(work.pending))
        )
    return tuple(out)


def _assess_rule(
    rule: Rule,
    facts: Facts,
    catalogue: Catalogue,
    calendars: Callable[[str], BusinessCalendar],
    as_of: datetime | None,
) -> Obligation:
    work = _Work(catalogue)
    trigger_at, used, trigger_reasons = _trigger(rule, facts, work)
    trigger_pending = list(work.pending)
    work.pending.clear()
    reason = _not_in_force(rule, facts, trigger_at or as_of)
    if reason:
        work.reasons.append(reason)
        return _base(rule, facts, "not_in_force", work)
    if rule.deadline.kind == "modifier":
        work.reasons.append(f"not a duty of its own: adjusts the deadlines of {', '.join(rule.modifies)}")
        return _base(rule, facts, "not_required", work)
    values = _data_view(rule, facts, work)
    if trigger_at is not None:
        values = {**values, "trigger": {"at": trigger_at}}
    failed, undecided = [], []
    for condition in rule.applies:
        result = condition_eval(condition, values)
        _decision_used(condition, facts, work)
        if result is True:
            work.reasons.append(f"applies: {condition.reason} ({shown(condition, values)})")
        elif result is False:
            failed.append(condition)
        else:
            undecided.append(condition)
    if failed:
        for condition in failed:
            work.reasons.append(f"not required: {condition.reason} does not hold ({shown(condition, values)})")
        return _base(rule, facts, "not_required", work)
    for condition in undecided:
        names = unknown_facts(condition, values)
        work.reasons.append(f"provisional: {condition.reason} is not decided ({', '.join(names)} not recorded)")
        for name in names:
            work.wait_for(name, LIFT, condition.reason)
    for condition in rule.exempt_if:
        result = condition_eval(condition, values)
        _decision_used(condition, facts, work)
        if result is True:
            work.reasons.append(f"exempt: {condition.reason} ({shown(condition, values)})")
            return _base(rule, facts, "exempt", work)
        if result is None:
            work.reasons.append(f"exemption not assumed (not decided): {condition.reason}")
            for name in unknown_facts(condition, values):
                work.wait_for(name, EXEMPT, condition.reason)
    if _harbour(rule, values, work):
        return _base(rule, facts, "exempt", work)
    work.pending.extend(p for p in trigger_pending if p not in work.pending)
    spec = _variant(rule, values, facts, work, trigger_at, calendars)
    if trigger_at is None:
        work.reasons.append(f"awaiting trigger: {rule.trigger_event} not recorded ({rule.trigger_description})")
        if facts.informed_by and "informed_at" not in facts.events:
            work.reasons.append(f"this entity's clocks run from when {facts.informed_by} tells it (informed_at)")
            work.wait_for("events.informed_at", TRIGGER, f"{facts.entity_name} is told by {facts.informed_by}")
        else:
            work.wait_for(f"events.{rule.trigger_event}", TRIGGER, rule.trigger_description)
        return _base(rule, facts, "awaiting_trigger", work, spec, pending=True)
    cap_at = None
    if spec.cap_event:
        cap_at, cap_used, _ = _trigger(replace(rule, trigger_event=spec.cap_event, trigger_earliest=False), facts, work)
        if cap_at is None:
            work.reasons.append(f"{spec.cap_event} not recorded: the {spec.cap_hours} h cap could not be applied")
        elif cap_used != spec.cap_event:
            work.reasons.append(f"cap: {spec.cap_event} not recorded; the earliest knowledge event {cap_used} is used")
    due: Due = due_compute(spec, trigger_at, tz=facts.deadline_tz, calendars=calendars, cap_at=cap_at)
    work.reasons.extend(trigger_reasons)
    if due.utc is None:
        work.reasons.append("no fixed period: tracked as an open duty without a due time (never an invented date)")
    if work.pending:
        work.reasons.append(
            "required, provisional: the clock runs from the trigger while "
            + ", ".join(sorted({p.name for p in work.pending}))
            + " is not recorded"
        )
    base = _base(rule, facts, "required", work, spec, pending=True)
    return replace(
        base,
        trigger_at=trigger_at,
        trigger_used=used,
        due_utc=due.utc,
        due_local=due.local,
        deadline_tz=due.tz,
        explanation=due.explanation,
        milestones=_milestones(rule, facts, values, trigger_at, calendars, catalogue),
    )


def _relief(modifier: Rule, facts: Facts, obligation: Obligation, catalogue: Catalogue) -> Relief | None:
    """DORA-style weekend relief: a due time on a non-working day may move to 12:00 the next working day."""
    if obligation.status != "required" or obligation.due_utc is None:
        return None
    values = {**facts.values, "target": {"id": obligation.rule_id}}
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
    """Every rule of the catalogue, assessed for each entity of the facts (the principal one first), in
    catalogue order; a further entity's obligations carry ``RULE@entity`` ids."""

    @cache
    def calendars(name: str) -> BusinessCalendar:
        return calendar_build(catalogue, name)

    reference = facts.as_of or as_of
    out: list[Obligation] = []
    for view in entity_views(facts, catalogue.knowledge_events):
        assessed = [_assess_rule(rule, view, catalogue, calendars, reference) for rule in catalogue.rules]
        by_rule = {obligation.rule_id: index for index, obligation in enumerate(assessed)}
        for rule in catalogue.rules:
            if rule.deadline.kind != "modifier" or assessed[by_rule[rule.id]].status == "not_in_force":
                continue
            for target in rule.modifies:
                relief = _relief(rule, view, assessed[by_rule[target]], catalogue)
                if relief is not None:
                    index = by_rule[target]
                    assessed[index] = replace(
                        assessed[index], relief=relief, reasons=(*assessed[index].reasons, f"relief: {relief.reason}")
                    )
        out.extend(assessed)
    return out
