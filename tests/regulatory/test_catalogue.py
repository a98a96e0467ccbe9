"""The catalogue as data: validation errors name file, entry and field; operators add rules and holidays."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from regulatory.engine import obligations_assess
from regulatory.errors import CatalogueInvalid
from regulatory.facts import facts_parse
from regulatory.loader import catalogue_load
from regulatory.serialize import utc_z

SEC_FACTS = {
    "deadline_tz": "America/New_York",
    "entity": {"sec_registrant": True},
    "events": {"materiality_determined_at": "2026-12-21T15:00:00Z"},
}


def sec_due(catalogue):
    obligations = obligations_assess(facts_parse(SEC_FACTS, catalogue), catalogue, as_of=datetime.now(UTC))
    return utc_z(next(o for o in obligations if o.id == "US-SEC-8K-105").due_utc)


def test_every_rule_is_complete(catalogue):
    for rule in catalogue.rules:
        assert rule.citation, rule.id
        assert rule.recipient, rule.id
        assert rule.regime, rule.id
        assert rule.jurisdiction, rule.id
        assert rule.confidence in ("high", "medium", "low"), rule.id
        assert rule.trigger_event in catalogue.events, rule.id


def test_an_operator_adds_a_closure_day(tmp_path, catalogue):
    # Mon 21 Dec 2026: Tue 22, Wed 23, Thu 24, [Fri 25 Christmas], Mon 28 Dec 17:30 EST
    assert sec_due(catalogue) == "2026-12-28T22:30:00Z"
    (tmp_path / "closures.toml").write_text(
        '[[holiday]]\ncalendar = "US-SEC"\ndate = 2026-12-24\nname = "Executive Order closure (test)"\n'
    )
    amended = catalogue_load(tmp_path)
    assert sec_due(amended) == "2026-12-29T22:30:00Z"


def test_an_operator_adds_a_rule(tmp_path):
    (tmp_path / "house.toml").write_text(
        """
[events]
board_briefed_at = "the board was briefed"

[[rule]]
id = "ACME-BOARD-48"
regime = "internal policy"
jurisdiction = "group"
recipient = "audit committee"
trigger_event = "aware_at"
trigger = "awareness"
deadline = { kind = "hours", value = 48 }
applies = [{ fact = "extra.listed", equals = true, reason = "the group is listed" }]
citation = "Group incident policy s.4"
status = "in_force"
confidence = "high"
"""
    )
    catalogue = catalogue_load(tmp_path)
    facts = facts_parse(
        {"deadline_tz": "UTC", "extra": {"listed": True}, "events": {"aware_at": "2026-01-01T00:00:00Z"}}, catalogue
    )
    board = next(o for o in obligations_assess(facts, catalogue) if o.id == "ACME-BOARD-48")
    assert (board.status, utc_z(board.due_utc)) == ("required", "2026-01-03T00:00:00Z")


def test_a_shipped_rule_is_replaced_only_on_purpose(tmp_path):
    rule = """
[[rule]]
id = "PCI-AMEX"
{replaces}regime = "American Express DSOP"
jurisdiction = "global (contract)"
recipient = "Amex EIRP"
trigger_event = "discovered_at"
trigger = "discovery"
deadline = {{ kind = "hours", value = 72 }}
citation = "Amex DSOP (newer edition)"
status = "contractual"
confidence = "medium"
"""
    (tmp_path / "amex.toml").write_text(rule.format(replaces=""))
    with pytest.raises(CatalogueInvalid, match=r"PCI-AMEX: already defined in rules_world\.toml; set replaces = true"):
        catalogue_load(tmp_path)
    (tmp_path / "amex.toml").write_text(rule.format(replaces="replaces = true\n"))
    assert catalogue_load(tmp_path).rule("PCI-AMEX").deadline.value == 72


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[rule]]\nid = 'bad id'\n", "rule #1: id: 'bad id' is not an id"),
        ("this is = not toml =", "not valid TOML"),
        ("[weather]\nsunny = true\n", "unknown section(s) weather"),
        ('[[holiday]]\ncalendar = "MOON"\ndate = 2026-01-02\nname = "x"\n', "no such calendar"),
        ('[[holiday]]\ncalendar = "US-SEC"\ndate = "2026-01-02"\nname = "x"\n', "expected a TOML date"),
        ('[calendar.XX]\ncountry = "ZZ"\n', "'ZZ' is not a country of the holidays package"),
        ('[calendar.US-SEC]\ncountry = "US"\n', "calendar US-SEC is already defined"),
        (
            '[[rule]]\nid = "X-ONE"\nregime = "r"\njurisdiction = "j"\nrecipient = "p"\ntrigger_event = "aware_at"\n'
            'trigger = "t"\ndeadline = { kind = "fortnights", value = 1 }\ncitation = "c"\nstatus = "in_force"\n'
            'confidence = "high"\n',
            "X-ONE: deadline.kind: 'fortnights' is not one of",
        ),
        (
            '[[rule]]\nid = "X-ONE"\nregime = "r"\njurisdiction = "j"\nrecipient = "p"\ntrigger_event = "aware_at"\n'
            'trigger = "t"\ndeadline = { kind = "business_days", value = 2 }\ncitation = "c"\nstatus = "in_force"\n'
            'confidence = "high"\n',
            "deadline.calendar: business days need a calendar",
        ),
        (
            '[[rule]]\nid = "X-ONE"\nregime = "r"\njurisdiction = "j"\nrecipient = "p"\ntrigger_event = "lunch_at"\n'
            'trigger = "t"\ndeadline = { kind = "hours", value = 2 }\ncitation = "c"\nstatus = "in_force"\n'
            'confidence = "high"\n',
            "X-ONE: trigger_event: 'lunch_at' is not in the events vocabulary",
        ),
        (
            '[[rule]]\nid = "X-ONE"\nregime = "r"\njurisdiction = "j"\nrecipient = "p"\ntrigger_event = "aware_at"\n'
            'trigger = "t"\ndeadline = { kind = "hours", value = 2 }\ncitation = "c"\nstatus = "in_force"\n'
            'confidence = "high"\napplies = [{ fact = "data.personal_data", equals = true }]\n',
            "every condition needs a reason",
        ),
        (
            '[[rule]]\nid = "X-ONE"\nregime = "r"\njurisdiction = "j"\nrecipient = "p"\ntrigger_event = "aware_at"\n'
            'trigger = "t"\ndeadline = { kind = "hours", value = 2 }\ncitation = "c"\nstatus = "in_force"\n'
            'confidence = "high"\napplies = [{ fact = "decisions.vibes", equals = true, reason = "r" }]\n',
            "decision 'vibes' is not in the decisions vocabulary",
        ),
        (
            '[[rule]]\nid = "X-ONE"\nregime = "r"\njurisdiction = "j"\nrecipient = "p"\ntrigger_event = "aware_at"\n'
            'trigger = "t"\ndeadline = { kind = "hours", value = 2 }\ncitation = "c"\nstatus = "maybe"\n'
            'confidence = "high"\n',
            "status: 'maybe' is not one of",
        ),
    ],
)
def test_invalid_files_are_refused_with_a_clear_message(tmp_path, text, message):
    (tmp_path / "operator.toml").write_text(text)
    with pytest.raises(CatalogueInvalid, match=r"/operator\.toml: ") as raised:
        catalogue_load(tmp_path)
    assert message in raised.value.message
    assert raised.value.code == "catalogue_invalid"


def test_a_missing_directory_is_refused(tmp_path):
    with pytest.raises(CatalogueInvalid, match="is not a directory"):
        catalogue_load(tmp_path / "nope")
