"""The facts an assessment starts from: parsed, validated and normalised (docs/regulatory-facts.md).

Validation is strict so that a typo (``awareAt``, a naive time, an unknown zone) is an error with a
stable code rather than a silently missing clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from regulatory.errors import FactsBadTime, FactsBadTimezone, FactsInvalid, FactsUnknownEvent
from regulatory.types import Catalogue

SCHEMA = "sequester.regulatory.facts/1"

EU_MEMBER_STATES = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()  # noqa: SIM905
)
EEA_ONLY = frozenset({"IS", "LI", "NO"})
# Data categories about people: any of them means personal data is affected (unless stated otherwise).
PERSONAL_CATEGORIES = frozenset(
    {
        "personal_data",
        "phi",
        "health",
        "payment",
        "financial",
        "customer_information",
        "sensitive",
        "children",
        "authentication",
    }
)

TOP_LEVEL = {
    "schema",
    "as_of",
    "deadline_tz",
    "jurisdictions",
    "entity",
    "data",
    "encryption",
    "decisions",
    "events",
    "extra",
}
# entity fact -> allowed values (a tuple), or a type
ENTITY: dict[str, Any] = {
    "name": str,
    "roles": ("controller", "processor"),
    "member_state": str,
    "nis2": ("essential", "important", "none"),
    "trust_service_provider": bool,
    "dora": (
        "credit_institution",
        "payment_institution",
        "e_money_institution",
        "investment_firm",
        "crypto_asset_service_provider",
        "central_counterparty",
        "trading_venue",
        "insurance_undertaking",
        "other_financial_entity",
        "none",
    ),
    "hipaa": ("covered_entity", "business_associate", "none"),
    "sec_registrant": bool,
    "sec_reg_sp": ("larger", "smaller", "none"),
    "circia_covered": bool,
    "fedramp": ("rev5", "20x", "none"),
    "fedramp_class": ("A", "B", "C", "D"),
    "bank": bool,
    "bank_service_provider": bool,
    "nydfs_covered": bool,
    "ftc_safeguards": bool,
    "public_electronic_communications": bool,
    "card_brands": ("visa", "mastercard", "amex"),
    "small_processing_agent": bool,
    "cn_operator": ("cii", "central_organ", "other"),
}
DATA = {"personal_data": bool, "categories": list, "subjects_total": int, "subjects_by_state": dict}
ENCRYPTION = {"encrypted": bool, "key_compromised": bool, "keys": list}
DECISION_KEYS = {"value", "by", "at", "note"}


@dataclass(frozen=True, slots=True)
class Facts:
    """Normalised facts: ``values`` is what conditions read (events and decision times as datetimes)."""

    values: dict[str, Any]
    deadline_tz: str
    events: dict[str, datetime]
    as_of: datetime | None

    def decision(self, name: str) -> dict[str, Any] | None:
        found = self.values["decisions"].get(name)
        return found if isinstance(found, dict) else None


def parse_time(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise FactsBadTime(f"{field}: expected an ISO 8601 time with an offset, got {value!r}", field=field)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FactsBadTime(f"{field}: {value!r} is not an ISO 8601 time", field=field) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise FactsBadTime(f"{field}: {value!r} has no UTC offset (add Z or +hh:mm)", field=field)
    return parsed.astimezone(UTC)


def _check_zone(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise FactsBadTimezone(f"{field}: an IANA time zone name is required (e.g. Europe/Berlin)", field=field)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise FactsBadTimezone(f"{field}: unknown time zone {value!r}", field=field) from None
    return value


def _object(raw: Any, field: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise FactsInvalid(f"{field}: expected an object", field=field)
    return raw


def _unknown(raw: dict[str, Any], known: set[str] | dict[str, Any], field: str) -> None:
    extra = sorted(set(raw) - set(known))
    if extra:
        raise FactsInvalid(
            f"{field}: unknown field(s) {', '.join(extra)}; known: {', '.join(sorted(known))}", field=field
        )


def _typed(raw: dict[str, Any], spec: dict[str, Any], field: str) -> dict[str, Any]:
    _unknown(raw, spec, field)
    out: dict[str, Any] = {}
    for name, value in raw.items():
        expected = spec[name]
        where = f"{field}.{name}"
        if value is None:
            continue
        if isinstance(expected, tuple):
            items = value if isinstance(value, list) else [value]
            bad = [item for item in items if item not in expected]
            if bad:
                raise FactsInvalid(f"{where}: {bad[0]!r} is not one of {', '.join(expected)}", field=where)
        elif expected is int:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise FactsInvalid(f"{where}: expected a whole number ≥ 0, got {value!r}", field=where)
        elif not isinstance(value, expected):
            raise FactsInvalid(f"{where}: expected {expected.__name__}, got {value!r}", field=where)
        out[name] = value
    return out


def _jurisdictions(raw: Any, by_state: dict[str, int]) -> list[str]:
    if raw is None:
        raw = []
    if not isinstance(raw, list) or not all(isinstance(code, str) and code for code in raw):
        raise FactsInvalid(
            "jurisdictions: expected a list of codes (EU, DE, UK, US, US-CA, BR, …)", field="jurisdictions"
        )
    codes = {code.strip().upper() for code in raw}
    codes |= {state.upper() for state, count in by_state.items() if count > 0}
    if "GB" in codes:
        codes.add("UK")
    for code in list(codes):
        if code in EU_MEMBER_STATES:
            codes.add("EU")
        if code in EU_MEMBER_STATES or code in EEA_ONLY or code == "EU":
            codes.add("EEA")
        if code.startswith("US-"):
            codes.add("US")
    return sorted(codes)


def _decisions(raw: dict[str, Any], catalogue: Catalogue) -> dict[str, Any]:
    out = {}
    for name, decision in raw.items():
        where = f"decisions.{name}"
        if name not in catalogue.decisions:
            raise FactsInvalid(
                f"{where}: unknown decision; known: {', '.join(sorted(catalogue.decisions))}", field=where
            )
        if not isinstance(decision, dict):
            raise FactsInvalid(f"{where}: expected {{value, by, at}}", field=where)
        _unknown(decision, DECISION_KEYS, where)
        if "value" not in decision or not isinstance(decision["value"], bool | int | str):
            raise FactsInvalid(f"{where}.value: a decision needs a value (true/false, a number or a word)", field=where)
        if not isinstance(decision.get("by"), str) or not decision["by"].strip():
            raise FactsInvalid(f"{where}.by: a human decision must say who took it", field=f"{where}.by")
        at = parse_time(decision.get("at"), f"{where}.at")
        out[name] = {**decision, "at": at}
    return out


def facts_parse(raw: Any, catalogue: Catalogue) -> Facts:
    """Validate and normalise the facts (a decoded JSON object)."""
    if not isinstance(raw, dict):
        raise FactsInvalid("the facts must be a JSON object", field="")
    _unknown(raw, TOP_LEVEL, "facts")
    if raw.get("schema") not in (None, SCHEMA):
        raise FactsInvalid(f"schema: expected {SCHEMA!r}, got {raw.get('schema')!r}", field="schema")
    deadline_tz = _check_zone(raw.get("deadline_tz"), "deadline_tz")
    entity = _typed(_object(raw.get("entity"), "entity"), ENTITY, "entity")
    member_state = entity.get("member_state")
    if member_state is not None and member_state not in EU_MEMBER_STATES | EEA_ONLY:
        raise FactsInvalid(
            f"entity.member_state: {member_state!r} is not an EU/EEA Member State code (DE, FR, …)",
            field="entity.member_state",
        )
    data = _typed(_object(raw.get("data"), "data"), DATA, "data")
    by_state = data.get("subjects_by_state", {})
    for state, count in by_state.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise FactsInvalid(f"data.subjects_by_state.{state}: expected a whole number ≥ 0", field="data")
    data["subjects_by_state"] = {state.upper(): count for state, count in by_state.items()}
    if "subjects_total" not in data and by_state:
        data["subjects_total"] = sum(by_state.values())
    data["max_subjects_per_state"] = max(by_state.values(), default=0)
    data.setdefault("categories", [])
    if PERSONAL_CATEGORIES & set(data["categories"]) and "personal_data" not in data:
        data["personal_data"] = True
    encryption = _typed(_object(raw.get("encryption"), "encryption"), ENCRYPTION, "encryption")
    events: dict[str, datetime] = {}
    for name, value in _object(raw.get("events"), "events").items():
        if name not in catalogue.events:
            raise FactsUnknownEvent(
                f"events.{name}: unknown trigger event; known: {', '.join(sorted(catalogue.events))}",
                field=f"events.{name}",
            )
        if value is not None:
            events[name] = parse_time(value, f"events.{name}")
    decisions = _decisions(_object(raw.get("decisions"), "decisions"), catalogue)
    as_of = parse_time(raw["as_of"], "as_of") if raw.get("as_of") is not None else None
    values = {
        "jurisdictions": _jurisdictions(raw.get("jurisdictions"), by_state),
        "entity": entity,
        "data": data,
        "encryption": encryption,
        "decisions": decisions,
        "events": events,
        "extra": _object(raw.get("extra"), "extra"),
    }
    return Facts(values=values, deadline_tz=deadline_tz, events=events, as_of=as_of)
