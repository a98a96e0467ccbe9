"""The facts an assessment starts from: parsed, validated and normalised (docs/regulatory-facts.md).

Validation is strict so that a typo (``awareAt``, a naive time, an unknown zone) is an error with a
stable code rather than a silently missing clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
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
        "government_id",
    }
)
# The categories the facts form offers (any other word is accepted, for operator rules).
DATA_CATEGORIES: dict[str, str] = {
    "personal_data": "personal data (any)",
    "government_id": "government identifiers (SSN, national ID, passport, driver's licence)",
    "payment": "payment card data (PAN, cardholder data)",
    "financial": "financial account data",
    "customer_information": "customer information (GLBA / Reg S-P)",
    "phi": "protected health information (HIPAA)",
    "health": "health data",
    "sensitive": "special-category / sensitive data",
    "children": "children's data",
    "authentication": "credentials (username + password, security questions)",
}
ENTITY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,19}$")

TOP_LEVEL = {
    "schema",
    "as_of",
    "deadline_tz",
    "jurisdictions",
    "entity",
    "entities",
    "data",
    "encryption",
    "decisions",
    "events",
    "extra",
}
# entity fact -> allowed values (a tuple), or a type
ENTITY: dict[str, Any] = {
    "id": str,
    "name": str,
    "roles": ("controller", "processor"),
    "establishments": list,
    "member_state": str,
    "nis2": ("essential", "important", "none"),
    "sector": str,
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
    "sec_reg_sp_service_provider": bool,
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
    "deadline_tz": str,
    "informed_by": str,
    "agent": bool,
    "events": dict,
}
# What the people filling the form see for each entity fact.
ENTITY_LABELS: dict[str, str] = {
    "roles": "GDPR / privacy role (controller = owns or licenses the data; processor = handles it for another)",
    "establishments": "establishments (country codes, e.g. DE, FR, UK, US)",
    "member_state": "DORA Member State (its holidays count for the weekend relief)",
    "nis2": "NIS2 entity",
    "sector": "NIS2 sector (Annex I / II)",
    "trust_service_provider": "trust service provider (NIS2 24 h derogation)",
    "dora": "DORA financial entity type",
    "hipaa": "HIPAA",
    "sec_registrant": "SEC registrant (Form 8-K)",
    "sec_reg_sp": "SEC Regulation S-P covered institution",
    "sec_reg_sp_service_provider": "service provider to a Reg S-P covered institution",
    "circia_covered": "CIRCIA covered entity (proposed rule)",
    "fedramp": "FedRAMP authorisation path",
    "fedramp_class": "FedRAMP 2026 class",
    "bank": "US banking organization",
    "bank_service_provider": "US bank service provider",
    "nydfs_covered": "NY DFS covered entity (23 NYCRR 500)",
    "ftc_safeguards": "FTC Safeguards Rule financial institution",
    "public_electronic_communications": "public electronic communications service (ePrivacy / PECR)",
    "card_brands": "card brands accepted or processed",
    "small_processing_agent": "LGPD small processing agent",
    "cn_operator": "China: operator type",
}
DATA = {"personal_data": bool, "categories": list, "subjects_total": int, "subjects_by_state": dict, "blocks": list}
BLOCK = {
    "name": str,
    "jurisdictions": list,
    "personal_data": bool,
    "categories": list,
    "subjects_total": int,
    "subjects_by_state": dict,
    "encrypted": bool,
    "keys": list,
    "entities": list,  # the ids of the entities whose data it is (default: every entity's)
}
ENCRYPTION = {"encrypted": bool, "key_compromised": bool, "keys": list}
DECISION_KEYS = {"value", "by", "at", "note"}
PRIMARY = "primary"  # the id of the principal entity when it names none


@dataclass(frozen=True, slots=True)
class Facts:
    """Normalised facts: ``values`` is what conditions read (events and decision times as datetimes).

    A fact that was not given is absent from ``values`` (unknown), never a default: conditions on it are
    undecided and the obligation stays provisional. ``entities`` are the further legal entities of the
    assessment; the engine assesses each as a view of its own (``entity_views``)."""

    values: dict[str, Any]
    deadline_tz: str
    events: dict[str, datetime]
    as_of: datetime | None
    entities: tuple[dict[str, Any], ...] = ()
    entity_id: str = ""  # set on an entity's view ("" for the principal entity)
    entity_name: str = ""
    informed_by: str = ""

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


def _codes(raw: Any, field: str) -> set[str]:
    if not isinstance(raw, list) or not all(isinstance(code, str) and code.strip() for code in raw):
        raise FactsInvalid(f"{field}: expected a list of codes (EU, DE, UK, US, US-CA, BR, …)", field=field)
    return {code.strip().upper() for code in raw}


def expand_codes(raw: Any, by_state: dict[str, int] | None = None, *, field: str = "jurisdictions") -> list[str]:
    """Codes as given plus what they imply: a Member State implies EU and EEA, GB implies UK, a US
    state implies US (and the states of ``by_state`` with people count)."""
    codes = _codes(raw, field)
    codes |= {state.upper() for state, count in (by_state or {}).items() if count > 0}
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


def _jurisdictions(raw: Any, by_state: dict[str, int], blocks: list[dict[str, Any]]) -> list[str] | None:
    """None when nobody said where (unknown); else the codes given, implied and of the data blocks."""
    if raw is None and not by_state and not blocks:
        return None
    codes = set(expand_codes([] if raw is None else raw, by_state))
    for block in blocks:
        codes |= set(block.get("jurisdictions", []))
    return sorted(codes)


def _people(data: dict[str, Any], where: str) -> dict[str, Any]:
    """Counts per state checked and upper-cased; the total defaults to their sum; categories about
    people imply personal data. Nothing is assumed where nothing was given."""
    by_state = data.get("subjects_by_state")
    if by_state is not None:
        for state, count in by_state.items():
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise FactsInvalid(f"{where}.subjects_by_state.{state}: expected a whole number ≥ 0", field=where)
        data["subjects_by_state"] = {str(state).upper(): count for state, count in by_state.items()}
        data["max_subjects_per_state"] = max(by_state.values(), default=0)
        if "subjects_total" not in data:
            data["subjects_total"] = sum(by_state.values())
    categories = data.get("categories")
    if categories is not None:
        if not all(isinstance(c, str) and c.strip() for c in categories):
            raise FactsInvalid(f"{where}.categories: expected a list of words", field=f"{where}.categories")
        data["categories"] = sorted({c.strip() for c in categories})
        if PERSONAL_CATEGORIES & set(data["categories"]) and "personal_data" not in data:
            data["personal_data"] = True
    return data


def _blocks(raw: list[Any]) -> list[dict[str, Any]]:
    blocks = []
    names: set[str] = set()
    for index, item in enumerate(raw):
        where = f"data.blocks[{index}]"
        block = _typed(_object(item, where), BLOCK, where)
        name = str(block.get("name") or f"block {index + 1}")
        if name in names:
            raise FactsInvalid(f"{where}.name: {name!r} is used twice", field=f"{where}.name")
        names.add(name)
        block["name"] = name
        if "jurisdictions" in block:
            block["jurisdictions"] = expand_codes(block["jurisdictions"], field=f"{where}.jurisdictions")
        blocks.append(_people(block, where))
    return blocks


def _events(raw: Any, field: str, catalogue: Catalogue) -> dict[str, datetime]:
    events: dict[str, datetime] = {}
    for name, value in _object(raw, field).items():
        if name not in catalogue.events:
            raise FactsUnknownEvent(
                f"{field}.{name}: unknown trigger event; known: {', '.join(sorted(catalogue.events))}",
                field=f"{field}.{name}",
            )
        if value is not None:
            events[name] = parse_time(value, f"{field}.{name}")
    return events


def _entity(raw: Any, field: str, catalogue: Catalogue) -> dict[str, Any]:
    entity = _typed(_object(raw, field), ENTITY, field)
    member_state = entity.get("member_state")
    if member_state is not None and member_state not in EU_MEMBER_STATES | EEA_ONLY:
        raise FactsInvalid(
            f"{field}.member_state: {member_state!r} is not an EU/EEA Member State code (DE, FR, …)",
            field=f"{field}.member_state",
        )
    if "establishments" in entity:
        entity["establishments"] = expand_codes(entity["establishments"], field=f"{field}.establishments")
    if "deadline_tz" in entity:
        _check_zone(entity["deadline_tz"], f"{field}.deadline_tz")
    if "id" in entity and not ENTITY_ID.match(entity["id"]):
        raise FactsInvalid(f"{field}.id: lower-case letters, digits and dashes (e.g. acme-eu)", field=f"{field}.id")
    if "events" in entity:
        entity["events"] = _events(entity["events"], f"{field}.events", catalogue)
    return entity


def _chain(entity: dict[str, Any], others: list[dict[str, Any]], primary_id: str) -> None:
    """Every informed_by names another entity of the assessment, and no chain loops."""
    upstream_of = {primary_id: entity.get("informed_by"), **{e["id"]: e.get("informed_by") for e in others}}
    for index, entity_id in enumerate(upstream_of):
        field = "entity" if index == 0 else f"entities[{index - 1}]"
        upstream = upstream_of[entity_id]
        if upstream is None:
            continue
        if upstream not in upstream_of or upstream == entity_id:
            known = ", ".join(sorted(set(upstream_of) - {entity_id}))
            raise FactsInvalid(
                f"{field}.informed_by: {upstream!r} is not another entity of the assessment ({known})",
                field=f"{field}.informed_by",
            )
        seen = {entity_id}
        while upstream is not None:
            if upstream in seen:
                raise FactsInvalid(
                    f"{field}.informed_by: the chain loops at {upstream!r}", field=f"{field}.informed_by"
                )
            seen.add(upstream)
            upstream = upstream_of[upstream]


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
    entity = _entity(raw.get("entity"), "entity", catalogue)
    others_raw = raw.get("entities") or []
    if not isinstance(others_raw, list):
        raise FactsInvalid("entities: expected a list of entities", field="entities")
    others = [_entity(item, f"entities[{i}]", catalogue) for i, item in enumerate(others_raw)]
    primary_id = entity.get("id", PRIMARY)
    seen_ids = {primary_id}
    for index, other in enumerate(others):
        if "id" not in other:
            raise FactsInvalid(f"entities[{index}].id: each further entity needs an id", field=f"entities[{index}].id")
        if other["id"] in seen_ids:
            raise FactsInvalid(f"entities[{index}].id: {other['id']!r} is used twice", field=f"entities[{index}].id")
        seen_ids.add(other["id"])
    _chain(entity, others, primary_id)
    data = _typed(_object(raw.get("data"), "data"), DATA, "data")
    blocks = _blocks(data.get("blocks", []))
    if "blocks" in data:
        mixed = sorted(set(data) - {"blocks"})
        if mixed:
            raise FactsInvalid(
                f"data: with data.blocks, give {', '.join(mixed)} in each block (which data falls under which law)",
                field="data",
            )
        data["blocks"] = blocks
    data = _people(data, "data")
    encryption = _typed(_object(raw.get("encryption"), "encryption"), ENCRYPTION, "encryption")
    events = _events(raw.get("events"), "events", catalogue)
    decisions = _decisions(_object(raw.get("decisions"), "decisions"), catalogue)
    as_of = parse_time(raw["as_of"], "as_of") if raw.get("as_of") is not None else None
    values: dict[str, Any] = {
        "entity": entity,
        "data": data,
        "encryption": encryption,
        "decisions": decisions,
        "events": events,
        "extra": _object(raw.get("extra"), "extra"),
    }
    jurisdictions = _jurisdictions(raw.get("jurisdictions"), data.get("subjects_by_state", {}), blocks)
    if jurisdictions is not None:
        values["jurisdictions"] = jurisdictions
    return Facts(values=values, deadline_tz=deadline_tz, events=events, as_of=as_of, entities=tuple(others))


def entity_views(facts: Facts, knowledge: tuple[str, ...]) -> list[Facts]:
    """The principal entity, then each further entity, as facts of their own: the entity's profile, its
    deadline zone, and its events. A further entity shares the incident's knowledge events, unless it
    is informed by another entity: then they all run from when it was told (``informed_at``), or, for an
    agent (HIPAA: a business associate acting as the covered entity's agent), from the informing
    entity's own. Events an entity records itself always win."""
    primary = facts.values["entity"]
    by_id: dict[str, dict[str, Any]] = {e["id"]: e for e in facts.entities}
    primary_id = primary.get("id", PRIMARY)
    by_id.setdefault(primary_id, primary)
    memo: dict[str, dict[str, datetime]] = {}

    def events_of(entity_id: str) -> dict[str, datetime]:
        if entity_id in memo:
            return memo[entity_id]
        entity = by_id[entity_id]
        own: dict[str, datetime] = entity.get("events", {})
        upstream = entity.get("informed_by")
        if entity_id == primary_id and upstream is None:
            base = dict(facts.events)
        elif upstream is None:
            base = {name: at for name, at in facts.events.items() if name in knowledge}
        elif entity.get("agent"):
            base = {name: at for name, at in events_of(upstream).items() if name in knowledge}
        elif "informed_at" in own:
            base = dict.fromkeys(knowledge, own["informed_at"])
        else:
            base = {}
        memo[entity_id] = {**base, **own}
        return memo[entity_id]

    views = []
    for entity_id, entity in [(primary_id, primary), *((e["id"], e) for e in facts.entities)]:
        events = events_of(entity_id)
        values = {**facts.values, "entity": entity, "events": events}
        views.append(
            replace(
                facts,
                values=values,
                events=events,
                deadline_tz=entity.get("deadline_tz", facts.deadline_tz),
                entities=(),
                entity_id="" if entity is primary else entity_id,
                entity_name=str(entity.get("name", "" if entity is primary else entity_id)),
                informed_by=str(entity.get("informed_by", "")),
            )
        )
    return views
