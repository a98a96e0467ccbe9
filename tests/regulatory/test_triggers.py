"""Table tests: triggers that match the law. Card-brand duties run from the first knowledge event
recorded; a rule whose own knowledge event is missing falls back to the earliest recorded one (provisional,
said in ``reasons``); NIS2/DORA read the significant-incident awareness, GDPR the personal-data-breach
awareness; DORA's updated intermediate report runs from the recovery of regular activities; each law reads
only the data blocks under it; government identifiers are personal data. Each row cites the provision."""

from __future__ import annotations

from typing import Any

import pytest

from tests.regulatory.conftest import decision, entity, merge
from tests.regulatory.test_rules import KEY_LOST

CARDS = {
    "deadline_tz": "UTC",
    "entity": entity(card_brands=["visa", "mastercard", "amex"]),
    "data": {"categories": ["payment"]},
}
EU = {
    "deadline_tz": "Europe/Berlin",
    "jurisdictions": ["DE"],
    "entity": entity(roles=["controller"], establishments=["DE"], member_state="DE"),
    "data": {"personal_data": True, "categories": ["personal_data"], "subjects_total": 100},
    "decisions": {"unlikely_risk": decision(False)},
    **KEY_LOST,
}
NIS2 = merge(EU, {"entity": {"nis2": "essential"}, "decisions": {"significant_incident": decision(True)}})
DORA = merge(EU, {"entity": {"dora": "payment_institution"}})
US_HEALTH = {
    "deadline_tz": "America/New_York",
    "jurisdictions": ["US-NY"],
    "entity": entity(roles=["controller"], hipaa="covered_entity", establishments=["US"]),
    "data": {"categories": ["phi"], "subjects_by_state": {"US-NY": 10}},
    "decisions": {"low_probability_of_compromise": decision(False)},
    **KEY_LOST,
}


def ev(**events: str) -> dict[str, Any]:
    return {"events": events}


def blocks(*items: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"blocks": list(items)}}


EU_CARDS = {
    "name": "EU cards",
    "jurisdictions": ["DE"],
    "categories": ["payment"],
    "subjects_total": 48000,
    "encrypted": True,
}
US_PATIENTS = {
    "name": "US patients",
    "jurisdictions": ["US-CA"],
    "categories": ["phi"],
    "subjects_total": 700,
    "subjects_by_state": {"US-CA": 700},
    "encrypted": False,
}
SPLIT = {
    "deadline_tz": "America/Los_Angeles",
    "entity": entity(roles=["controller"], hipaa="covered_entity", establishments=["US"]),
    "decisions": {"unlikely_risk": decision(False), "low_probability_of_compromise": decision(False)},
    "encryption": {"key_compromised": True},
}

# (name citing the provision, rule, facts, status, due_utc, trigger_used)
# fmt: off
CASES: list[tuple[str, str, dict[str, Any], str, str | None, str | None]] = [
    # ---- card brands: from discovery of the suspected compromise, whichever knowledge event is first
    ("Visa WTDIC: immediately, from the first knowledge event (detection)", "PCI-VISA", merge(CARDS, ev(detected_at="2026-04-01T08:00:00Z", aware_at="2026-04-01T12:00:00Z")), "required", None, "detected_at"),
    ("Mastercard ADC guide: 24 h from the first knowledge event (awareness)", "PCI-MASTERCARD", merge(CARDS, ev(aware_at="2026-04-01T10:00:00Z", discovered_at="2026-04-01T12:00:00Z")), "required", "2026-04-02T10:00:00Z", "aware_at"),
    ("Amex DSOP s.3: 24 h from identification when nothing else is recorded", "PCI-AMEX", merge(CARDS, ev(identified_at="2026-04-01T09:00:00Z")), "required", "2026-04-02T09:00:00Z", "identified_at"),
    ("Visa WTDIC: report from the first knowledge event, not a later discovery", "PCI-VISA-REPORT", merge(CARDS, ev(detected_at="2026-04-01T12:00:00Z", discovered_at="2026-04-03T12:00:00Z")), "required", "2026-04-06T23:59:59Z", "detected_at"),
    # ---- the fallback order: own event missing -> earliest recorded knowledge event
    ("45 CFR 164.404(a)(2): discovery not recorded: runs from awareness, provisional", "US-HIPAA-404", merge(US_HEALTH, ev(aware_at="2026-01-15T15:00:00Z")), "required", "2026-03-17T03:59:59Z", "aware_at"),
    ("45 CFR 164.404(a)(2): the earliest in time, not the first in the order", "US-HIPAA-404", merge(US_HEALTH, ev(aware_at="2026-01-20T15:00:00Z", detected_at="2026-01-15T15:00:00Z")), "required", "2026-03-17T03:59:59Z", "detected_at"),
    ("45 CFR 164.404(a)(2): discovery recorded: its own event, not an earlier detection", "US-HIPAA-404", merge(US_HEALTH, ev(discovered_at="2026-01-20T15:00:00Z", detected_at="2026-01-15T15:00:00Z")), "required", "2026-03-22T03:59:59Z", "discovered_at"),
    ("GDPR Art 33(1): same instant: the documented order names discovery before detection", "EU-GDPR-33", merge(EU, ev(detected_at="2026-03-27T10:00:00Z", discovered_at="2026-03-27T10:00:00Z")), "required", "2026-03-30T10:00:00Z", "discovered_at"),
    ("8-K Item 1.05: materiality determination is not a knowledge event: no fallback", "US-SEC-8K-105", merge({"deadline_tz": "America/New_York", "entity": entity(sec_registrant=True)}, ev(discovered_at="2026-06-29T14:00:00Z")), "awaiting_trigger", None, None),
    ("DORA RTS Art 5(1)(b): intermediate report runs from the submission, no fallback", "EU-DORA-19-INT", merge(DORA, ev(aware_at="2026-05-04T08:00:00Z", classified_major_at="2026-05-04T10:00:00Z")), "awaiting_trigger", None, None),
    # ---- regime-specific awareness: NIS2 / DORA significant incident vs GDPR personal-data breach
    ("NIS2 Art 23(4)(a): 24 h from awareness of the significant incident", "EU-NIS2-23-EW", merge(NIS2, ev(aware_at="2026-03-27T10:00:00Z", significant_incident_aware_at="2026-03-28T09:00:00Z")), "required", "2026-03-29T09:00:00Z", "significant_incident_aware_at"),
    ("GDPR Art 33(1): 72 h from awareness of the personal data breach, not the NIS2 one", "EU-GDPR-33", merge(NIS2, ev(aware_at="2026-03-27T10:00:00Z", significant_incident_aware_at="2026-03-28T09:00:00Z")), "required", "2026-03-30T10:00:00Z", "aware_at"),
    ("DORA RTS Art 5(1)(a): 24 h cap from awareness of the major incident", "EU-DORA-19-INI", merge(DORA, ev(aware_at="2026-05-04T02:00:00Z", significant_incident_aware_at="2026-05-04T08:00:00Z", classified_major_at="2026-05-05T06:00:00Z")), "required", "2026-05-05T08:00:00Z", "classified_major_at"),
    ("DORA RTS Art 5(1)(a): incident awareness not recorded: cap from the earliest knowledge event", "EU-DORA-19-INI", merge(DORA, ev(aware_at="2026-05-04T02:00:00Z", classified_major_at="2026-05-05T00:00:00Z")), "required", "2026-05-05T02:00:00Z", "classified_major_at"),
    # ---- DORA: regular activities recovered
    ("DORA RTS Art 5(1)(b): updated intermediate report once regular activities are recovered", "EU-DORA-19-INT-UPD", merge(DORA, ev(classified_major_at="2026-05-04T10:00:00Z", dora_activities_recovered_at="2026-05-07T16:00:00Z")), "required", None, "dora_activities_recovered_at"),
    ("DORA RTS Art 5(1)(b): not recovered yet", "EU-DORA-19-INT-UPD", merge(DORA, ev(classified_major_at="2026-05-04T10:00:00Z")), "awaiting_trigger", None, None),
    # intermediate (updated) submitted 8 May 2026 -> 8 Jun 23:59:59 CEST
    ("DORA RTS Art 5(1)(c): final report a month after the latest intermediate report", "EU-DORA-19-FIN", merge(DORA, ev(classified_major_at="2026-05-04T10:00:00Z", dora_intermediate_submitted_at="2026-05-08T09:00:00Z")), "required", "2026-06-08T21:59:59Z", "dora_intermediate_submitted_at"),
    # ---- data blocks: each law reads the data under it
    ("GDPR Art 33 reads the EU block only: encrypted, key kept there", "EU-GDPR-33", merge(merge(SPLIT, blocks(EU_CARDS, US_PATIENTS)), {"encryption": {"key_compromised": False}, "events": {"aware_at": "2026-04-01T12:00:00Z"}}), "exempt", None, None),
    ("45 CFR 164.404 reads the US block: PHI not encrypted", "US-HIPAA-404", merge(merge(SPLIT, blocks(EU_CARDS, US_PATIENTS)), {"encryption": {"key_compromised": False}, "events": {"discovered_at": "2026-04-01T12:00:00Z"}}), "required", "2026-06-01T06:59:59Z", "discovered_at"),
    ("45 CFR 164.406: 700 Californians in the US block, not the 48,000 EU records", "US-HIPAA-406", merge(merge(SPLIT, blocks(EU_CARDS, US_PATIENTS)), ev(discovered_at="2026-04-01T12:00:00Z")), "required", "2026-06-01T06:59:59Z", "discovered_at"),
    ("45 CFR 164.408(b): 700 people under HIPAA, HHS within 60 days", "US-HIPAA-408-L", merge(merge(SPLIT, blocks(EU_CARDS, US_PATIENTS)), ev(discovered_at="2026-04-01T12:00:00Z")), "required", "2026-06-01T06:59:59Z", "discovered_at"),
    ("GDPR Art 33: no block under EU law: not required", "EU-GDPR-33", merge(merge(SPLIT, blocks(US_PATIENTS)), ev(aware_at="2026-04-01T12:00:00Z")), "not_required", None, None),
    ("Visa WTDIC reads every block: card data in the EU block", "PCI-VISA", merge(merge(SPLIT, {"entity": {"card_brands": ["visa"]}}), merge(blocks(EU_CARDS, US_PATIENTS), ev(detected_at="2026-04-01T12:00:00Z"))), "required", None, "detected_at"),
    # ---- government identifiers: personal information under the state laws
    ("Tex. Bus. & Com. Code 521.002(a)(2): SSN / driver's licence is sensitive personal information", "US-TX-521.053", merge({"deadline_tz": "America/Chicago", "jurisdictions": ["US-TX"], "entity": entity(roles=["controller"]), "data": {"categories": ["government_id"]}, **KEY_LOST}, ev(determined_at="2026-04-01T12:00:00Z")), "required", "2026-06-01T04:59:59Z", "determined_at"),
]
# fmt: on


@pytest.mark.parametrize(
    ("name", "rule_id", "facts", "status", "due_utc", "trigger_used"), CASES, ids=[c[0] for c in CASES]
)
def test_trigger(assess, name, rule_id, facts, status, due_utc, trigger_used):
    obligation = assess(facts)[rule_id]
    assert (obligation["status"], obligation["due_utc"]) == (status, due_utc), obligation["reasons"]
    if trigger_used is not None:
        assert obligation["trigger_used"] == trigger_used


def test_fallback_is_said_in_reasons_and_pending(assess):
    """The reasons name the event used and the documented order; the rule's own event is pending."""
    hipaa = assess(merge(US_HEALTH, ev(aware_at="2026-01-15T15:00:00Z")))["US-HIPAA-404"]
    assert hipaa["provisional"] is True
    assert any(
        r.startswith(
            "trigger: discovered_at not recorded; falls back to the earliest recorded knowledge event, aware_at"
        )
        and "fallback order: discovered_at, aware_at, significant_incident_aware_at" in r
        for r in hipaa["reasons"]
    ), hipaa["reasons"]
    assert [p["name"] for p in hipaa["pending"]] == ["events.discovered_at"]


def test_card_brands_earliest_is_not_provisional(assess):
    """'Whichever knowledge event is recorded first' is the rule itself, not a fallback."""
    visa = assess(merge(CARDS, ev(detected_at="2026-04-01T08:00:00Z")))["PCI-VISA"]
    assert (visa["provisional"], visa["pending"]) == (False, [])
    assert "trigger: the earliest recorded knowledge event, detected_at at 2026-04-01T08:00:00Z" in visa["reasons"]


def test_data_blocks_name_what_each_law_read(assess):
    facts = merge(merge(SPLIT, blocks(EU_CARDS, US_PATIENTS)), ev(discovered_at="2026-04-01T12:00:00Z"))
    result = assess(facts)
    assert "data read: US patients (scope US)" in result["US-HIPAA-404"]["reasons"]
    assert "data read: EU cards (scope EEA, EU)" in result["EU-GDPR-33"]["reasons"]
    assert "data read: EU cards, US patients (every block)" in result["PCI-VISA"]["reasons"]


def test_the_knowledge_events_are_documented(catalogue):
    from pathlib import Path

    doc = " ".join((Path(__file__).resolve().parents[2] / "docs" / "regulatory-facts.md").read_text().split())
    order = ", ".join(f"`{name}`" for name in catalogue.knowledge_events)
    assert order in doc
