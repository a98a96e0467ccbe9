"""The catalogue's shapes: rules, deadlines, conditions and calendars, as loaded from the data files."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

DeadlineKind = Literal["hours", "calendar_days", "business_days", "months", "no_fixed_period", "modifier"]
DEADLINE_KINDS: tuple[str, ...] = ("hours", "calendar_days", "business_days", "months", "no_fixed_period", "modifier")

RuleStatus = Literal["in_force", "proposed", "contractual", "repealed"]
RULE_STATUSES: tuple[str, ...] = ("in_force", "proposed", "contractual", "repealed")

Confidence = Literal["high", "medium", "low"]
CONFIDENCES: tuple[str, ...] = ("high", "medium", "low")

HarbourKind = Literal["none", "encryption_unless_key_compromised", "risk_factor", "individuals_only"]
HARBOUR_KINDS: tuple[str, ...] = ("none", "encryption_unless_key_compromised", "risk_factor", "individuals_only")

# Operators a condition may use on the fact it names (see docs/regulatory-facts.md).
OPERATORS: tuple[str, ...] = (
    "equals",
    "not_equals",
    "in",
    "contains",
    "contains_any",
    "gt",
    "gte",
    "lt",
    "lte",
    "before",
    "at_or_after",
    "present",
)


@dataclass(frozen=True, slots=True)
class Condition:
    """One test on one fact (``fact`` is a dotted path), or ``any_of`` several (true if one holds)."""

    reason: str
    fact: str = ""
    operator: str = ""
    operand: Any = None
    default: Any = None
    any_of: tuple[Condition, ...] = ()

    def facts(self) -> list[str]:
        if self.any_of:
            return [name for sub in self.any_of for name in sub.facts()]
        return [self.fact]


@dataclass(frozen=True, slots=True)
class DeadlineSpec:
    kind: DeadlineKind
    value: int = 0  # hours, days, business days or months
    minutes: int = 0  # for fractions of an hour (FedRAMP 0.25 h = 15 min)
    calendar: str = ""  # business days: a calendar name of calendars.toml
    cutoff: str = ""  # "HH:MM" local; business days end then instead of 23:59:59
    tz: str = ""  # a fixed zone (SEC: America/New_York); else the facts' deadline_tz
    anchor: Literal["trigger", "year_end"] = "trigger"
    cap_event: str = ""  # DORA: no later than cap_hours after this event ...
    cap_hours: int = 0  # ... unless the trigger itself is later than the cap


@dataclass(frozen=True, slots=True)
class Variant:
    """A different deadline when conditions hold (first match wins), e.g. 24 h for trust services."""

    when: tuple[Condition, ...]
    deadline: DeadlineSpec
    reason: str


@dataclass(frozen=True, slots=True)
class Milestone:
    """A further date of the same duty (e.g. the AG's copy), computed the same way."""

    label: str
    deadline: DeadlineSpec
    trigger_event: str = ""  # default: the rule's
    when: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class SafeHarbour:
    kind: HarbourKind
    text: str
    key_compromise: str = ""


@dataclass(frozen=True, slots=True)
class InForce:
    """When the rule binds: ``status`` plus optional dates (``from_by`` picks a date from a fact)."""

    status: RuleStatus
    label: str
    from_date: date | None = None
    until_date: date | None = None
    from_by_fact: str = ""
    from_by: dict[str, date] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    regime: str
    jurisdiction: str
    recipient: str
    trigger_event: str
    trigger_description: str
    deadline: DeadlineSpec
    qualifier: str
    applies: tuple[Condition, ...]
    exempt_if: tuple[Condition, ...]
    safe_harbour: SafeHarbour
    citation: str
    in_force: InForce
    confidence: Confidence
    variants: tuple[Variant, ...] = ()
    milestones: tuple[Milestone, ...] = ()
    modifies: tuple[str, ...] = ()  # a modifier rule (DORA weekend relief) names the rules it adjusts
    modifier_unless: tuple[Condition, ...] = ()
    source: str = ""  # the file it came from
    # The trigger is the earliest recorded knowledge event, the rule's own included (card brands:
    # "whichever knowledge event is recorded first"), rather than the rule's own event alone.
    trigger_earliest: bool = False
    # Whether a missing knowledge-event trigger falls back to the earliest recorded knowledge event.
    trigger_fallback: bool = True
    # The event a filing of this obligation records (a follow-up report runs from it); "informed_at"
    # records when each entity informed by this one was told.
    filed_event: str = ""
    # Which data the rule reads when the facts give data blocks: blocks whose jurisdictions meet these
    # codes (default: the codes of the rule's own ``jurisdictions`` conditions; none: every block).
    data_scope: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Holiday:
    day: date
    name: str


@dataclass(frozen=True, slots=True)
class CalendarSpec:
    """A business-day calendar: a country of the ``holidays`` package, plus or minus operator days."""

    name: str
    country: str = ""
    subdiv: str = ""
    extra: tuple[Holiday, ...] = ()
    base: str = ""  # another calendar this one extends


@dataclass(frozen=True, slots=True)
class Term:
    """One word of the vocabulary: an event, a human decision or a group of facts, and who records it."""

    name: str
    meaning: str
    decided_by: str
    knowledge: bool = False  # events: the organisation knew something (a trigger may fall back to it)


DEFAULT_DECIDER = "legal/DPO"
DEFAULT_RECORDER = "incident commander or legal/DPO"


@dataclass(frozen=True, slots=True)
class Catalogue:
    rules: tuple[Rule, ...]
    calendars: dict[str, CalendarSpec]
    events: dict[str, str]  # trigger-event vocabulary: name -> meaning
    decisions: dict[str, str]  # human decision vocabulary: name -> meaning
    sources: tuple[str, ...] = ()
    terms: dict[str, Term] = field(default_factory=dict)  # "events.x", "decisions.x", "entity", "data", ...

    def term(self, path: str) -> Term:
        """The vocabulary entry for a fact path (``decisions.high_risk``, ``entity.roles``: ``entity``)."""
        if path in self.terms:
            return self.terms[path]
        head = path.split(".", 1)[0]
        if head in self.terms:
            return self.terms[head]
        return Term(path, path, DEFAULT_DECIDER)

    @property
    def knowledge_events(self) -> tuple[str, ...]:
        """The events that mean the organisation knew, in the documented fallback order."""
        return tuple(t.name.removeprefix("events.") for t in self.terms.values() if t.knowledge)

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)
