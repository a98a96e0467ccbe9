"""Table tests: a missing fact never reads as a legal conclusion. A duty whose condition depends on a fact
or a human decision that nobody recorded is ``required`` and provisional, its due time running from its
trigger (the 72 hours run while the risk assessment is made); ``pending`` names each fact or decision that
could lift it and who decides it. ``not_required`` and ``exempt`` come only from recorded facts or
decisions. Each row cites the provision whose condition is undecided."""

from __future__ import annotations

from typing import Any

import pytest

from tests.regulatory.conftest import decision, entity, merge
from tests.regulatory.test_rules import KEY_KEPT, KEY_LOST, ev

AWARE = ev(aware_at="2026-03-27T10:00:00Z")
GDPR_DUE = "2026-03-30T10:00:00Z"  # aware + 72 h on the UTC timeline
EU = merge(
    {
        "deadline_tz": "Europe/Berlin",
        "jurisdictions": ["DE"],
        "entity": entity(roles=["controller"], establishments=["DE"], member_state="DE"),
        "data": {"personal_data": True, "categories": ["personal_data"], "subjects_total": 100},
        "decisions": {"unlikely_risk": decision(False)},
        **KEY_LOST,
    },
    AWARE,
)


def without(facts: dict[str, Any], path: str) -> dict[str, Any]:
    """The facts with one of them not recorded (``entity.roles``, ``decisions.unlikely_risk``)."""
    out = merge(facts, {})
    *parents, last = path.split(".")
    node = out
    for part in parents:
        node = node[part]
    node.pop(last, None)
    return out


def dec(**decisions: Any) -> dict[str, Any]:
    return {"decisions": {name: decision(value) for name, value in decisions.items()}}


US_HEALTH = merge(
    {
        "deadline_tz": "America/New_York",
        "jurisdictions": ["US-NY"],
        "entity": entity(roles=["controller"], establishments=["US"], hipaa="covered_entity"),
        "data": {"categories": ["phi"], "subjects_by_state": {"US-NY": 800}},
        "decisions": {"low_probability_of_compromise": decision(False)},
        **KEY_LOST,
    },
    ev(discovered_at="2026-01-15T15:00:00Z"),
)
HIPAA_DUE = "2026-03-17T03:59:59Z"  # discovered 15 Jan 2026 -> 16 Mar 23:59:59 EDT

# (name citing the provision, rule, facts, status, due_utc, provisional, pending fact names that must be listed)
# fmt: off
CASES: list[tuple[str, str, dict[str, Any], str, str | None, bool, set[str]]] = [
    ("GDPR Art 33(1): everything recorded: required, not provisional", "EU-GDPR-33", EU, "required", GDPR_DUE, False, set()),
    ("GDPR Art 33(1): controller role not recorded", "EU-GDPR-33", without(EU, "entity.roles"), "required", GDPR_DUE, True, {"entity.roles"}),
    ("GDPR Art 33(1): risk not decided yet, the 72 h run meanwhile", "EU-GDPR-33", without(EU, "decisions.unlikely_risk"), "required", GDPR_DUE, True, {"decisions.unlikely_risk"}),
    ("GDPR Art 33(1): personal data not recorded", "EU-GDPR-33", without(EU, "data.personal_data") | {"data": {}}, "required", GDPR_DUE, True, {"data.personal_data"}),
    ("GDPR Art 33(1), WP250: encryption not stated", "EU-GDPR-33", without(EU, "encryption.encrypted"), "required", GDPR_DUE, True, {"encryption.encrypted"}),
    ("GDPR Art 33(1), WP250: encrypted, key state not stated", "EU-GDPR-33", without(EU, "encryption.key_compromised"), "required", GDPR_DUE, True, {"encryption.key_compromised"}),
    ("GDPR Art 3: where the data subjects are and where the entity is established not recorded", "EU-GDPR-33", without(without(EU, "jurisdictions"), "entity.establishments"), "required", GDPR_DUE, True, {"jurisdictions", "entity.establishments"}),
    ("GDPR Art 3(1): EU establishment recorded, data subjects elsewhere", "EU-GDPR-33", merge(EU, {"jurisdictions": ["JP"]}), "required", GDPR_DUE, False, set()),
    ("GDPR Art 33(1): recorded processor only: not required", "EU-GDPR-33", merge(EU, {"entity": {"roles": ["processor"]}}), "not_required", None, False, set()),
    ("GDPR Art 33(1): recorded 'unlikely to result in a risk': exempt", "EU-GDPR-33", merge(EU, dec(unlikely_risk=True)), "exempt", None, False, set()),
    ("GDPR Art 34(1): high risk not decided", "EU-GDPR-34", EU, "required", None, True, {"decisions.high_risk"}),
    ("GDPR Art 34(1): recorded not high risk: not required", "EU-GDPR-34", merge(EU, dec(high_risk=False)), "not_required", None, False, set()),
    ("NIS2 Art 23(3): significance not decided, 24 h early warning runs", "EU-NIS2-23-EW", merge(EU, {"entity": {"nis2": "essential"}}), "required", "2026-03-28T10:00:00Z", True, {"decisions.significant_incident"}),
    ("NIS2 Art 23(3): NIS2 status not recorded", "EU-NIS2-23-EW", merge(without(EU, "entity.nis2"), dec(significant_incident=True)), "required", "2026-03-28T10:00:00Z", True, {"entity.nis2"}),
    ("NIS2 Art 23(4)(b) 2nd subpara: trust-service status not recorded: 24 h kept", "EU-NIS2-23-IN", merge(without(merge(EU, {"entity": {"nis2": "essential"}}), "entity.trust_service_provider"), dec(significant_incident=True)), "required", "2026-03-28T10:00:00Z", True, {"entity.trust_service_provider"}),
    ("NIS2 Art 23(4)(b): not a trust service provider: 72 h", "EU-NIS2-23-IN", merge(merge(EU, {"entity": {"nis2": "essential"}}), dec(significant_incident=True)), "required", "2026-03-30T10:00:00Z", True, {"events.significant_incident_aware_at"}),
    ("NIS2 Art 23(1): service provision affected not decided", "EU-NIS2-23-REC", merge(merge(EU, {"entity": {"nis2": "important"}}), dec(significant_incident=True)), "required", None, True, {"decisions.service_provision_affected"}),
    ("DORA Art 19(3): clients' financial interests not decided", "EU-DORA-19-CLI", merge(merge(EU, {"entity": {"dora": "credit_institution"}}), ev(classified_major_at="2026-03-27T12:00:00Z")), "required", None, True, {"decisions.clients_financial_interests_affected"}),
    ("DORA Art 19(4): financial entity type not recorded", "EU-DORA-19-INI", merge(without(EU, "entity.dora"), ev(classified_major_at="2026-03-27T12:00:00Z")), "required", "2026-03-27T16:00:00Z", True, {"entity.dora"}),
    ("45 CFR 164.402(2): four-factor assessment not done, the 60 days run", "US-HIPAA-404", without(US_HEALTH, "decisions.low_probability_of_compromise"), "required", HIPAA_DUE, True, {"decisions.low_probability_of_compromise"}),
    ("45 CFR 164.404: PHI not recorded among the categories", "US-HIPAA-404", without(US_HEALTH, "data.categories"), "required", HIPAA_DUE, True, {"data.categories"}),
    ("45 CFR 164.406: residents per state not recorded", "US-HIPAA-406", merge(without(US_HEALTH, "data.subjects_by_state"), {"data": {"subjects_total": 800}}), "required", HIPAA_DUE, True, {"data.subjects_by_state"}),
    ("45 CFR 164.402(2): recorded low probability: exempt", "US-HIPAA-404", merge(US_HEALTH, dec(low_probability_of_compromise=True)), "exempt", None, False, set()),
    ("Cal. Civ. Code 1798.82(a): whether the entity owns the data not recorded", "US-CA-1798.82", merge(without(merge(US_HEALTH, {"jurisdictions": ["US-CA"]}), "entity.roles"), {"data": {"personal_data": True}}), "required", "2026-02-15T04:59:59Z", True, {"entity.roles"}),
    ("PIPEDA s.10.1(1): real risk of significant harm not decided", "CA-PIPEDA-10.1", merge({"deadline_tz": "America/Toronto", "jurisdictions": ["CA"], "entity": entity(), "data": {"personal_data": True}}, ev(determined_at="2026-03-10T00:00:00Z")), "required", None, True, {"decisions.rrosh"}),
    ("LGPD Art 48: relevant risk not decided, the 3 business days run", "BR-LGPD-48", merge({"deadline_tz": "America/Sao_Paulo", "jurisdictions": ["BR"], "entity": entity(), "data": {"personal_data": True}, **KEY_LOST}, ev(aware_at="2026-04-17T15:00:00Z")), "required", "2026-04-24T02:59:59Z", True, {"decisions.relevant_risk"}),
    ("Privacy Act s 26WK: serious harm not decided", "AU-NDB-OAIC", merge({"deadline_tz": "Australia/Sydney", "jurisdictions": ["AU"], "entity": entity(), "data": {"personal_data": True}, **KEY_LOST}, ev(believed_at="2026-03-10T00:00:00Z")), "required", None, True, {"decisions.serious_harm", "decisions.remedial_action_avoids_harm"}),
    ("CAC 2025 Measures Art 4: operator type not recorded: the 1 h of a CII operator kept", "CN-CSIRM-2025", merge(merge({"deadline_tz": "Asia/Shanghai", "jurisdictions": ["CN"], "entity": without(entity(), "cn_operator")}, dec(cn_relatively_major=True)), ev(discovered_at="2026-04-01T12:00:00Z")), "required", "2026-04-01T13:00:00Z", True, {"entity.cn_operator"}),
    ("APPI Rules Art 7: more than 1,000 persons not known, no other ground recorded", "JP-APPI-26", merge({"deadline_tz": "Asia/Tokyo", "jurisdictions": ["JP"], "entity": entity(), "data": {"personal_data": True, "categories": ["personal_data"]}, **KEY_LOST}, ev(aware_at="2026-03-10T00:00:00Z")), "required", "2026-04-09T14:59:59Z", True, {"data.subjects_total", "decisions.wrongful_purpose", "decisions.financial_damage_risk"}),
    ("GDPR Art 34(3)(a): key kept, exempt even while high risk is undecided", "EU-GDPR-34", merge(EU, KEY_KEPT), "exempt", None, False, set()),
]
# fmt: on


@pytest.mark.parametrize(
    ("name", "rule_id", "facts", "status", "due_utc", "provisional", "pending"), CASES, ids=[c[0] for c in CASES]
)
def test_missing_fact_is_provisional(assess, name, rule_id, facts, status, due_utc, provisional, pending):
    obligation = assess(facts)[rule_id]
    assert (obligation["status"], obligation["due_utc"], obligation["provisional"]) == (
        status,
        due_utc,
        provisional,
    ), obligation["reasons"]
    listed = {p["name"] for p in obligation["pending"]}
    assert pending <= listed, listed
    for item in obligation["pending"]:
        assert all(item[key] for key in ("decided_by", "meaning", "effect")), item
    if status in ("not_required", "exempt"):
        assert obligation["pending"] == []


def test_who_decides_is_named(assess):
    """Each pending item says who decides it: the vocabulary's decided_by (a decision), the profile's
    owner (an entity fact), key custody (encryption)."""
    facts = without(without(without(EU, "decisions.unlikely_risk"), "entity.roles"), "encryption.key_compromised")
    pending = {p["name"]: p for p in assess(facts)["EU-GDPR-33"]["pending"]}
    assert pending["decisions.unlikely_risk"]["decided_by"] == "legal/DPO"
    assert pending["decisions.unlikely_risk"]["effect"] == "could exempt it"
    assert pending["entity.roles"]["decided_by"].startswith("administrator (organisation profile)")
    assert pending["entity.roles"]["effect"] == "could make it not required"
    assert pending["encryption.key_compromised"]["decided_by"].startswith("key custodian")


def test_no_fact_at_all_is_never_a_no(assess):
    """With only a trigger recorded, nothing is concluded: every rule in force is required-provisional,
    awaiting its trigger, or not in force — none is not_required or exempt."""
    result = assess({"deadline_tz": "UTC", "events": {"detected_at": "2026-03-27T10:00:00Z"}})
    statuses = {o["status"] for o in result.values() if o["rule_id"] != "EU-DORA-WEEKEND"}
    assert statuses <= {"required", "awaiting_trigger", "not_in_force"}
    assert all(o["provisional"] for o in result.values() if o["status"] == "required")
