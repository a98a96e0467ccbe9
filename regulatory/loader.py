"""Loading the catalogue: the TOML files shipped in ``regulatory/catalogue/``, then an operator's directory.

Every file may hold ``[[rule]]`` entries, ``[calendar.NAME]`` definitions, ``[[holiday]]`` days added to a
calendar, and ``[events]`` / ``[decisions]`` vocabulary. An operator adds a rule or a holiday by dropping
a file in ``SEQUESTER_REGULATORY_DIR``; replacing a shipped rule needs ``replaces = true`` on it. Everything
is validated on load; an error names the file, the entry and the field.
"""

from __future__ import annotations

import re
import tomllib
from datetime import date
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from holidays.registry import EntityLoader

from regulatory.errors import CatalogueInvalid
from regulatory.types import (
    CONFIDENCES,
    DEADLINE_KINDS,
    DEFAULT_DECIDER,
    DEFAULT_RECORDER,
    HARBOUR_KINDS,
    OPERATORS,
    RULE_STATUSES,
    CalendarSpec,
    Catalogue,
    Condition,
    DeadlineSpec,
    Holiday,
    InForce,
    Milestone,
    Rule,
    SafeHarbour,
    Term,
    Variant,
)

BUILTIN_DIR = Path(__file__).resolve().parent / "catalogue"
RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Za-z0-9.]+)+$")
CUTOFF = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
RULE_KEYS = {
    "id",
    "regime",
    "jurisdiction",
    "recipient",
    "trigger_event",
    "trigger",
    "deadline",
    "applies",
    "exempt_if",
    "safe_harbour",
    "citation",
    "status",
    "status_label",
    "in_force_from",
    "in_force_until",
    "in_force_from_by",
    "confidence",
    "variants",
    "milestones",
    "modifies",
    "modifier_unless",
    "replaces",
    "trigger_earliest",
    "trigger_fallback",
    "filed_event",
    "data_scope",
}
DEADLINE_KEYS = {
    "kind",
    "value",
    "minutes",
    "calendar",
    "cutoff",
    "tz",
    "anchor",
    "cap_event",
    "cap_hours",
    "qualifier",
}


class _Where:
    def __init__(self, source: str, entry: str) -> None:
        self.source = source
        self.entry = entry

    def fail(self, field: str, message: str) -> CatalogueInvalid:
        return CatalogueInvalid(
            f"{self.source}: {self.entry}: {field}: {message}", source=self.source, entry=self.entry, field=field
        )


def _str(raw: dict[str, Any], key: str, where: _Where, *, required: bool = True) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise where.fail(key, "a non-empty text is required" if required else "must be text")
    return value.strip()


def _condition(raw: Any, where: _Where, field: str) -> Condition:
    if not isinstance(raw, dict):
        raise where.fail(field, "a condition is a table {fact = …, <operator> = …, reason = …}")
    reason = raw.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise where.fail(field, "every condition needs a reason (shown to legal)")
    if "any_of" in raw:
        subs = raw["any_of"]
        if not isinstance(subs, list) or not subs:
            raise where.fail(field, "any_of must be a non-empty list of conditions")
        return Condition(
            reason=reason, any_of=tuple(_condition(sub, where, f"{field}.any_of[{i}]") for i, sub in enumerate(subs))
        )
    fact = raw.get("fact")
    if not isinstance(fact, str) or not fact:
        raise where.fail(field, "a condition needs fact = 'dotted.path'")
    operators = [key for key in raw if key in OPERATORS]
    unknown = set(raw) - set(OPERATORS) - {"fact", "reason", "default"}
    if unknown:
        raise where.fail(field, f"unknown key(s) {', '.join(sorted(unknown))}; operators: {', '.join(OPERATORS)}")
    if len(operators) != 1:
        raise where.fail(field, f"exactly one operator is needed, one of {', '.join(OPERATORS)}")
    operator = operators[0]
    operand = raw[operator]
    if operator in ("in", "contains_any") and not isinstance(operand, list):
        raise where.fail(field, f"{operator} needs a list")
    if operator in ("before", "at_or_after"):
        if hasattr(operand, "isoformat"):
            operand = operand.isoformat()
        if not isinstance(operand, str):
            raise where.fail(field, f"{operator} needs a date-time")
    return Condition(reason=reason, fact=fact, operator=operator, operand=operand, default=raw.get("default"))


def _conditions(raw: Any, where: _Where, field: str) -> tuple[Condition, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise where.fail(field, "expected a list of conditions")
    return tuple(_condition(item, where, f"{field}[{i}]") for i, item in enumerate(raw))


def _deadline(raw: Any, where: _Where, field: str) -> tuple[DeadlineSpec, str]:
    if not isinstance(raw, dict):
        raise where.fail(field, "expected a table {kind = …, value = …}")
    unknown = set(raw) - DEADLINE_KEYS
    if unknown:
        raise where.fail(field, f"unknown key(s) {', '.join(sorted(unknown))}")
    kind = raw.get("kind")
    if kind not in DEADLINE_KINDS:
        raise where.fail(f"{field}.kind", f"{kind!r} is not one of {', '.join(DEADLINE_KINDS)}")
    value = raw.get("value", 0)
    minutes = raw.get("minutes", 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise where.fail(f"{field}.value", "a whole number ≥ 0 is required")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
        raise where.fail(f"{field}.minutes", "a whole number ≥ 0 is required")
    if kind in ("hours", "calendar_days", "business_days", "months") and value == 0 and minutes == 0:
        raise where.fail(f"{field}.value", f"a {kind} deadline needs a value > 0")
    calendar = raw.get("calendar", "")
    if kind == "business_days" and not calendar:
        raise where.fail(f"{field}.calendar", "business days need a calendar (see calendars.toml)")
    cutoff = raw.get("cutoff", "")
    if cutoff and (not isinstance(cutoff, str) or not CUTOFF.match(cutoff)):
        raise where.fail(f"{field}.cutoff", "expected HH:MM (24 h)")
    tz = raw.get("tz", "")
    if tz:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise where.fail(f"{field}.tz", f"unknown time zone {tz!r}") from None
    anchor = raw.get("anchor", "trigger")
    if anchor not in ("trigger", "year_end"):
        raise where.fail(f"{field}.anchor", "expected 'trigger' or 'year_end'")
    spec = DeadlineSpec(
        kind=kind,
        value=value,
        minutes=minutes,
        calendar=str(calendar),
        cutoff=str(cutoff),
        tz=str(tz),
        anchor=anchor,
        cap_event=str(raw.get("cap_event", "")),
        cap_hours=int(raw.get("cap_hours", 0)),
    )
    qualifier = raw.get("qualifier", "")
    return spec, qualifier if isinstance(qualifier, str) else ""


def _date(raw: Any, where: _Where, field: str) -> date | None:
    if raw is None:
        return None
    if isinstance(raw, date):
        return raw
    raise where.fail(field, "expected a TOML date (YYYY-MM-DD, unquoted)")


def _in_force(raw: dict[str, Any], where: _Where) -> InForce:
    status = raw.get("status")
    if status not in RULE_STATUSES:
        raise where.fail("status", f"{status!r} is not one of {', '.join(RULE_STATUSES)}")
    from_by_fact = ""
    from_by: dict[str, date] = {}
    by = raw.get("in_force_from_by")
    if by is not None:
        if not isinstance(by, dict) or not isinstance(by.get("fact"), str) or not isinstance(by.get("dates"), dict):
            raise where.fail("in_force_from_by", "expected {fact = 'entity.x', dates = {value = YYYY-MM-DD}}")
        from_by_fact = by["fact"]
        for key, value in by["dates"].items():
            parsed = _date(value, where, f"in_force_from_by.dates.{key}")
            assert parsed is not None
            from_by[key] = parsed
    return InForce(
        status=cast(Any, status),
        label=str(raw.get("status_label", status)),
        from_date=_date(raw.get("in_force_from"), where, "in_force_from"),
        until_date=_date(raw.get("in_force_until"), where, "in_force_until"),
        from_by_fact=from_by_fact,
        from_by=from_by,
    )


def _rule(raw: Any, source: str, index: int) -> tuple[Rule, bool]:
    where = _Where(source, f"rule #{index + 1}")
    if not isinstance(raw, dict):
        raise where.fail("rule", "expected a table")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not RULE_ID.match(rule_id):
        raise where.fail("id", f"{rule_id!r} is not an id like EU-GDPR-33")
    where = _Where(source, rule_id)
    unknown = set(raw) - RULE_KEYS
    if unknown:
        raise where.fail("rule", f"unknown key(s) {', '.join(sorted(unknown))}")
    deadline, qualifier = _deadline(raw.get("deadline"), where, "deadline")
    harbour_raw = raw.get("safe_harbour", {"kind": "none", "text": "none"})
    if not isinstance(harbour_raw, dict) or harbour_raw.get("kind") not in HARBOUR_KINDS:
        raise where.fail("safe_harbour.kind", f"one of {', '.join(HARBOUR_KINDS)}")
    confidence = raw.get("confidence")
    if confidence not in CONFIDENCES:
        raise where.fail("confidence", f"{confidence!r} is not one of {', '.join(CONFIDENCES)}")
    variants = []
    for i, variant in enumerate(raw.get("variants", [])):
        field = f"variants[{i}]"
        if not isinstance(variant, dict):
            raise where.fail(field, "expected a table")
        spec, _ = _deadline(variant.get("deadline"), where, f"{field}.deadline")
        variants.append(
            Variant(
                when=_conditions(variant.get("when"), where, f"{field}.when"),
                deadline=spec,
                reason=_str(variant, "reason", where),
            )
        )
    milestones = []
    for i, milestone in enumerate(raw.get("milestones", [])):
        field = f"milestones[{i}]"
        if not isinstance(milestone, dict):
            raise where.fail(field, "expected a table")
        spec, _ = _deadline(milestone.get("deadline"), where, f"{field}.deadline")
        milestones.append(
            Milestone(
                label=_str(milestone, "label", where),
                deadline=spec,
                trigger_event=str(milestone.get("trigger_event", "")),
                when=_conditions(milestone.get("when"), where, f"{field}.when"),
            )
        )
    data_scope = raw.get("data_scope")
    if data_scope is not None and (
        not isinstance(data_scope, list) or not all(isinstance(c, str) and c for c in data_scope)
    ):
        raise where.fail("data_scope", "expected a list of jurisdiction codes (EU, US-CA, …)")
    for flag in ("trigger_earliest", "trigger_fallback"):
        if not isinstance(raw.get(flag, False), bool):
            raise where.fail(flag, "expected true or false")
    modifies = raw.get("modifies", [])
    if not isinstance(modifies, list) or (deadline.kind == "modifier") != bool(modifies):
        raise where.fail("modifies", "a modifier rule (deadline.kind = 'modifier') lists the rules it adjusts")
    rule = Rule(
        id=rule_id,
        regime=_str(raw, "regime", where),
        jurisdiction=_str(raw, "jurisdiction", where),
        recipient=_str(raw, "recipient", where),
        trigger_event=_str(raw, "trigger_event", where),
        trigger_description=_str(raw, "trigger", where),
        deadline=deadline,
        qualifier=qualifier,
        applies=_conditions(raw.get("applies"), where, "applies"),
        exempt_if=_conditions(raw.get("exempt_if"), where, "exempt_if"),
        safe_harbour=SafeHarbour(
            kind=harbour_raw["kind"],
            text=str(harbour_raw.get("text", "")),
            key_compromise=str(harbour_raw.get("key_compromise", "")),
        ),
        citation=_str(raw, "citation", where),
        in_force=_in_force(raw, where),
        confidence=confidence,
        variants=tuple(variants),
        milestones=tuple(milestones),
        modifies=tuple(str(item) for item in modifies),
        modifier_unless=_conditions(raw.get("modifier_unless"), where, "modifier_unless"),
        source=source,
        trigger_earliest=bool(raw.get("trigger_earliest", False)),
        trigger_fallback=bool(raw.get("trigger_fallback", True)),
        filed_event=_str(raw, "filed_event", where, required=False),
        data_scope=None if data_scope is None else tuple(code.upper() for code in data_scope),
    )
    return rule, bool(raw.get("replaces", False))


def _calendar(name: str, raw: Any, source: str) -> CalendarSpec:
    where = _Where(source, f"calendar {name}")
    if not isinstance(raw, dict):
        raise where.fail("calendar", "expected a table")
    unknown = set(raw) - {"country", "subdiv", "base", "description"}
    if unknown:
        raise where.fail("calendar", f"unknown key(s) {', '.join(sorted(unknown))}")
    country = str(raw.get("country", ""))
    # the registry's codes: holidays.list_supported_countries() would import every country's module
    if country and country not in set(EntityLoader.get_country_codes()):
        raise where.fail("country", f"{country!r} is not a country of the holidays package")
    return CalendarSpec(name=name, country=country, subdiv=str(raw.get("subdiv", "")), base=str(raw.get("base", "")))


def _validate(catalogue: Catalogue) -> None:
    for name, spec in catalogue.calendars.items():
        if spec.base and spec.base not in catalogue.calendars:
            raise CatalogueInvalid(f"calendar {name}: base {spec.base!r} is not defined", entry=name, field="base")
    ids = {rule.id for rule in catalogue.rules}
    for rule in catalogue.rules:
        where = _Where(rule.source, rule.id)
        if rule.trigger_event not in catalogue.events:
            raise where.fail("trigger_event", f"{rule.trigger_event!r} is not in the events vocabulary")
        if rule.filed_event and rule.filed_event not in catalogue.events:
            raise where.fail("filed_event", f"{rule.filed_event!r} is not in the events vocabulary")
        specs = [rule.deadline, *(v.deadline for v in rule.variants), *(m.deadline for m in rule.milestones)]
        for deadline in specs:
            if deadline.calendar and deadline.calendar not in catalogue.calendars:
                raise where.fail("deadline.calendar", f"calendar {deadline.calendar!r} is not defined")
            if deadline.cap_event and deadline.cap_event not in catalogue.events:
                raise where.fail("deadline.cap_event", f"{deadline.cap_event!r} is not in the events vocabulary")
        for milestone in rule.milestones:
            if milestone.trigger_event and milestone.trigger_event not in catalogue.events:
                raise where.fail("milestones.trigger_event", f"{milestone.trigger_event!r} is not an event")
        conditions = [*rule.applies, *rule.exempt_if, *rule.modifier_unless]
        conditions += [c for v in rule.variants for c in v.when] + [c for m in rule.milestones for c in m.when]
        for condition in conditions:
            for fact in condition.facts():
                head, _, tail = fact.partition(".")
                if head == "decisions" and tail not in catalogue.decisions:
                    raise where.fail("conditions", f"decision {tail!r} is not in the decisions vocabulary")
                if head == "events" and tail not in catalogue.events:
                    raise where.fail("conditions", f"event {tail!r} is not in the events vocabulary")
        for target in rule.modifies:
            if target not in ids:
                raise where.fail("modifies", f"rule {target!r} is not defined")


def _term(vocabulary: str, name: str, raw: Any, source: str) -> Term:
    """A vocabulary entry: its meaning as text, or a table {meaning, decided_by, knowledge}."""
    where = f"{source}: [{vocabulary}] {name}"
    default = DEFAULT_RECORDER if vocabulary == "events" else DEFAULT_DECIDER
    path = name if vocabulary == "facts" else f"{vocabulary}.{name}"
    if isinstance(raw, str):
        return Term(path, raw, default)
    if not isinstance(raw, dict) or not isinstance(raw.get("meaning"), str):
        raise CatalogueInvalid(f"{where}: the meaning must be text, or a table with meaning = …", source=source)
    unknown = set(raw) - {"meaning", "decided_by", "knowledge"}
    if unknown or (vocabulary != "events" and "knowledge" in raw):
        raise CatalogueInvalid(f"{where}: unknown key(s) {', '.join(sorted(unknown or {'knowledge'}))}", source=source)
    decided_by = raw.get("decided_by", default)
    knowledge = raw.get("knowledge", False)
    if not isinstance(decided_by, str) or not isinstance(knowledge, bool):
        raise CatalogueInvalid(f"{where}: decided_by is text, knowledge is true or false", source=source)
    return Term(path, raw["meaning"], decided_by, knowledge)


def catalogue_load(extra_dir: Path | None = None, *, builtin_dir: Path = BUILTIN_DIR) -> Catalogue:
    """Read and validate the shipped catalogue plus an operator's directory (if given)."""
    files = sorted(builtin_dir.glob("*.toml"))
    if extra_dir is not None:
        if not extra_dir.is_dir():
            raise CatalogueInvalid(f"SEQUESTER_REGULATORY_DIR: {extra_dir} is not a directory", field="directory")
        files += sorted(extra_dir.glob("*.toml"))
    rules: dict[str, Rule] = {}
    calendars: dict[str, CalendarSpec] = {}
    holidays_by_calendar: dict[str, list[Holiday]] = {}
    holiday_sources: dict[str, str] = {}
    events: dict[str, str] = {}
    decisions: dict[str, str] = {}
    terms: dict[str, Term] = {}
    for path in files:
        source = path.name if path.parent == builtin_dir else f"{path.parent.name}/{path.name}"
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise CatalogueInvalid(f"{source}: not valid TOML: {exc}", source=source) from None
        unknown = set(document) - {"rule", "calendar", "holiday", "events", "decisions", "facts", "description"}
        if unknown:
            raise CatalogueInvalid(f"{source}: unknown section(s) {', '.join(sorted(unknown))}", source=source)
        for vocabulary, target in (("events", events), ("decisions", decisions), ("facts", None)):
            for name, raw_term in document.get(vocabulary, {}).items():
                term = _term(vocabulary, name, raw_term, source)
                terms[term.name] = term
                if target is not None:
                    target[name] = term.meaning
        for name, raw in document.get("calendar", {}).items():
            if name in calendars:
                raise CatalogueInvalid(
                    f"{source}: calendar {name} is already defined in the catalogue; add days with [[holiday]]",
                    source=source,
                )
            calendars[name] = _calendar(name, raw, source)
        for i, raw in enumerate(document.get("holiday", [])):
            where = _Where(source, f"holiday #{i + 1}")
            if not isinstance(raw, dict):
                raise where.fail("holiday", "expected {calendar = …, date = YYYY-MM-DD, name = …}")
            day = _date(raw.get("date"), where, "date")
            if day is None:
                raise where.fail("date", "a date is required")
            calendar_name = _str(raw, "calendar", where)
            holidays_by_calendar.setdefault(calendar_name, []).append(Holiday(day=day, name=_str(raw, "name", where)))
            holiday_sources.setdefault(calendar_name, source)
        for i, raw in enumerate(document.get("rule", [])):
            rule, replaces = _rule(raw, source, i)
            if rule.id in rules and not replaces:
                raise CatalogueInvalid(
                    f"{source}: {rule.id}: already defined in {rules[rule.id].source}; "
                    "set replaces = true to override it",
                    source=source,
                    entry=rule.id,
                    field="id",
                )
            rules[rule.id] = rule
    for name, days in holidays_by_calendar.items():
        if name not in calendars:
            raise CatalogueInvalid(
                f"{holiday_sources[name]}: holiday for calendar {name!r}: no such calendar",
                source=holiday_sources[name],
                entry=name,
                field="calendar",
            )
        spec = calendars[name]
        calendars[name] = CalendarSpec(
            name=spec.name, country=spec.country, subdiv=spec.subdiv, base=spec.base, extra=spec.extra + tuple(days)
        )
    catalogue = Catalogue(
        rules=tuple(rules.values()),
        calendars=calendars,
        events=events,
        decisions=decisions,
        sources=tuple(str(p.name) for p in files),
        terms=terms,
    )
    _validate(catalogue)
    return catalogue
