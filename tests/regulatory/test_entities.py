"""Several legal entities in one assessment: each gets its own duties with its own triggers. A business
associate's notice to its covered entity, then the covered entity's clocks from when it is told (or from
the associate's discovery when the associate is its agent); a processor's notice to its controller, then
the controller's 72 hours from when it is told."""

from __future__ import annotations

from typing import Any

import pytest

from regulatory.errors import FactsInvalid
from regulatory.facts import facts_parse
from tests.regulatory.conftest import decision, entity, merge
from tests.regulatory.test_rules import KEY_LOST

BA_DISCOVERY = "2026-01-15T15:00:00Z"
TOLD = "2026-01-25T15:00:00Z"
HEALTH = {
    "deadline_tz": "America/New_York",
    "jurisdictions": ["US-NY"],
    "entity": entity(id="acme-health", name="Acme Health IT", roles=["processor"], hipaa="business_associate"),
    "entities": [
        entity(
            id="st-mary",
            name="St Mary Hospital",
            roles=["controller"],
            hipaa="covered_entity",
            informed_by="acme-health",
        )
    ],
    "data": {"categories": ["phi"], "subjects_by_state": {"US-NY": 800}},
    "decisions": {"low_probability_of_compromise": decision(False)},
    "events": {"discovered_at": BA_DISCOVERY},
    **KEY_LOST,
}


def told(facts: dict[str, Any], at: str) -> dict[str, Any]:
    out = merge(facts, {})
    out["entities"][0]["events"] = {"informed_at": at}
    return out


def test_business_associate_then_covered_entity_from_when_it_is_told(assess):
    """45 CFR 164.410(a): the BA notifies the CE within 60 days of its discovery; 164.404(a)(2): the CE's
    60 days run from its own discovery — when the BA told it (the BA is not its agent)."""
    before = assess(HEALTH)
    ba = before["US-HIPAA-410"]
    assert (ba["status"], ba["due_utc"], ba["entity"]["id"]) == ("required", "2026-03-17T03:59:59Z", "acme-health")
    assert before["US-HIPAA-404"]["status"] == "not_required"  # the BA is not a covered entity
    waiting = before["US-HIPAA-404@st-mary"]
    assert (waiting["status"], waiting["due_utc"]) == ("awaiting_trigger", None)
    assert [p["name"] for p in waiting["pending"]] == ["events.informed_at"]
    assert waiting["entity"] == {"id": "st-mary", "name": "St Mary Hospital"}
    after = assess(told(HEALTH, TOLD))
    covered = after["US-HIPAA-404@st-mary"]
    # told 25 Jan 2026 -> day 60 = 26 Mar 23:59:59 EDT
    assert (covered["status"], covered["due_utc"], covered["trigger_used"]) == (
        "required",
        "2026-03-27T03:59:59Z",
        "discovered_at",
    )
    assert after["US-HIPAA-406@st-mary"]["due_utc"] == "2026-03-27T03:59:59Z"  # 800 New Yorkers: media
    assert after["US-HIPAA-410@st-mary"]["status"] == "not_required"


def test_an_agent_business_associate_discovers_for_the_covered_entity(assess):
    """45 CFR 164.404(a)(2): when the BA acts as the CE's agent, the CE discovers on the BA's discovery date."""
    facts = merge(HEALTH, {})
    facts["entities"][0]["agent"] = True
    covered = assess(facts)["US-HIPAA-404@st-mary"]
    assert (covered["status"], covered["due_utc"]) == ("required", "2026-03-17T03:59:59Z")


def test_processor_then_controller(assess):
    """GDPR Art 33(2): the processor tells the controller without undue delay; Art 33(1): the controller's
    72 hours run from when it is aware — when the processor told it (EDPB Guidelines 9/2022)."""
    facts = {
        "deadline_tz": "Europe/Berlin",
        "jurisdictions": ["DE"],
        "entity": entity(id="cloudco", name="CloudCo", roles=["processor"], establishments=["IE"]),
        "entities": [
            entity(id="shop", name="Shop GmbH", roles=["controller"], establishments=["DE"], informed_by="cloudco")
        ],
        "data": {"personal_data": True, "categories": ["personal_data"], "subjects_total": 5000},
        "decisions": {"unlikely_risk": decision(False)},
        "events": {"aware_at": "2026-03-27T10:00:00Z"},
        **KEY_LOST,
    }
    result = assess(facts)
    assert (result["EU-GDPR-33-2"]["status"], result["EU-GDPR-33-2"]["filed_event"]) == ("required", "informed_at")
    assert result["EU-GDPR-33"]["status"] == "not_required"  # the processor notifies no SA itself
    assert result["EU-GDPR-33@shop"]["status"] == "awaiting_trigger"
    result = assess(told(facts, "2026-03-28T09:00:00Z"))
    assert result["EU-GDPR-33@shop"]["due_utc"] == "2026-03-31T09:00:00Z"


def test_group_entities_share_the_incident_knowledge_and_keep_their_zone(assess):
    facts = {
        "deadline_tz": "Europe/Berlin",
        "jurisdictions": ["DE", "US-NY"],
        "entity": entity(id="group-eu", name="Group EU", roles=["controller"], establishments=["DE"]),
        "entities": [
            entity(
                id="group-us",
                name="Group US",
                roles=["controller"],
                establishments=["US"],
                deadline_tz="America/New_York",
                nydfs_covered=True,
            )
        ],
        "data": {"personal_data": True, "categories": ["personal_data"], "subjects_by_state": {"US-NY": 10}},
        "decisions": {"unlikely_risk": decision(False)},
        "events": {
            "aware_at": "2026-04-01T12:00:00Z",
            "discovered_at": "2026-04-01T12:00:00Z",
            "ransom_paid_at": "2026-04-02T12:00:00Z",
        },
        **KEY_LOST,
    }
    result = assess(facts)
    assert result["US-NY-899-aa@group-us"]["deadline_tz"] == "America/New_York"
    assert result["US-NY-899-aa@group-us"]["due_utc"] == "2026-05-02T03:59:59Z"  # 1 May 23:59:59 EDT
    assert result["US-NY-899-aa"]["deadline_tz"] == "Europe/Berlin"
    # an event that is the principal entity's own (its ransom payment) is not the other entity's
    assert result["US-NYDFS-EXTORTION@group-us"]["status"] == "awaiting_trigger"


@pytest.mark.parametrize(
    ("entities", "field"),
    [
        ([{"name": "no id"}], "entities[0].id"),
        ([entity(id="x"), entity(id="x")], "entities[1].id"),
        ([entity(id="x", informed_by="nobody")], "entities[0].informed_by"),
        ([entity(id="x", informed_by="y"), entity(id="y", informed_by="x")], "entities[0].informed_by"),
        ([entity(id="Bad Id")], "entities[0].id"),
    ],
)
def test_entities_are_validated(catalogue, entities, field):
    with pytest.raises(FactsInvalid) as raised:
        facts_parse({"deadline_tz": "UTC", "entity": entity(id="main"), "entities": entities}, catalogue)
    assert raised.value.details["field"] == field
