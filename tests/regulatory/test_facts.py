"""Facts validation: every mistake is an error with a stable code and the field it concerns."""

from __future__ import annotations

import pytest

from regulatory.errors import FactsBadTime, FactsBadTimezone, FactsInvalid, FactsUnknownEvent
from regulatory.facts import facts_parse

BASE = {"deadline_tz": "Europe/Berlin"}


@pytest.mark.parametrize(
    ("facts", "error", "field"),
    [
        ({}, FactsBadTimezone, "deadline_tz"),
        ({"deadline_tz": "Mars/Olympus"}, FactsBadTimezone, "deadline_tz"),
        ({**BASE, "events": {"awareAt": "2026-01-01T00:00:00Z"}}, FactsUnknownEvent, "events.awareAt"),
        ({**BASE, "events": {"aware_at": "2026-01-01T10:00:00"}}, FactsBadTime, "events.aware_at"),
        ({**BASE, "events": {"aware_at": "yesterday"}}, FactsBadTime, "events.aware_at"),
        ({**BASE, "events": {"aware_at": 1767225600}}, FactsBadTime, "events.aware_at"),
        ({**BASE, "colour": "red"}, FactsInvalid, "facts"),
        ({**BASE, "entity": {"roles": ["owner"]}}, FactsInvalid, "entity.roles"),
        ({**BASE, "entity": {"sec_registrant": "yes"}}, FactsInvalid, "entity.sec_registrant"),
        ({**BASE, "data": {"subjects_total": -1}}, FactsInvalid, "data.subjects_total"),
        ({**BASE, "data": {"subjects_by_state": {"US-CA": "many"}}}, FactsInvalid, "data"),
        ({**BASE, "jurisdictions": "EU"}, FactsInvalid, "jurisdictions"),
        (
            {**BASE, "decisions": {"high_risk": {"value": True, "at": "2026-01-01T00:00:00Z"}}},
            FactsInvalid,
            "decisions.high_risk.by",
        ),
        ({**BASE, "decisions": {"high_risk": {"value": True, "by": "dpo"}}}, FactsBadTime, "decisions.high_risk.at"),
        (
            {**BASE, "decisions": {"gut_feeling": {"value": True, "by": "dpo", "at": "2026-01-01T00:00:00Z"}}},
            FactsInvalid,
            "decisions.gut_feeling",
        ),
        ({**BASE, "schema": "other/2"}, FactsInvalid, "schema"),
        ({**BASE, "entity": {"member_state": "US"}}, FactsInvalid, "entity.member_state"),
        ([], FactsInvalid, ""),
    ],
)
def test_bad_facts(catalogue, facts, error, field):
    with pytest.raises(error) as raised:
        facts_parse(facts, catalogue)
    assert raised.value.details.get("field") == field
    assert raised.value.code.startswith("facts_")


def test_normalisation(catalogue):
    facts = facts_parse(
        {
            **BASE,
            "jurisdictions": ["de", "GB"],
            "data": {"categories": ["health"], "subjects_by_state": {"us-ny": 400, "US-NJ": 200}},
            "events": {"aware_at": "2026-03-29T03:30:00+02:00"},
        },
        catalogue,
    )
    assert facts.values["jurisdictions"] == ["DE", "EEA", "EU", "GB", "UK", "US", "US-NJ", "US-NY"]
    assert facts.values["data"]["subjects_total"] == 600
    assert facts.values["data"]["max_subjects_per_state"] == 400
    assert facts.values["data"]["personal_data"] is True  # categories given imply personal data
    assert facts.events["aware_at"].isoformat() == "2026-03-29T01:30:00+00:00"


def test_only_categories_about_people_imply_personal_data(catalogue):
    facts = facts_parse({**BASE, "data": {"categories": ["model_weights"]}}, catalogue)
    assert "personal_data" not in facts.values["data"]
