"""Engine behaviour beyond single due times: milestones, DORA weekend relief, reasons, decisions, in-force."""

from __future__ import annotations

from tests.regulatory.conftest import decision, merge
from tests.regulatory.test_rules import DORA, KEY_LOST, US_STATE, ev


def test_texas_attorney_general_from_250_residents(assess):
    """Tex. Bus. & Com. Code 521.053(i): the AG's notice is its own obligation, 30 days, 250+ Texans."""
    facts = merge(US_STATE, {"deadline_tz": "America/Chicago", "data": {"subjects_by_state": {"US-TX": 250}}})
    result = assess(merge(facts, ev(determined_at="2026-04-01T12:00:00Z")))
    assert result["US-TX-521.053"]["due_utc"] == "2026-06-01T04:59:59Z"
    assert result["US-TX-521.053-AG"]["status"] == "required"
    assert result["US-TX-521.053-AG"]["due_utc"] == "2026-05-02T04:59:59Z"  # 1 May 2026 23:59:59 CDT
    smaller = merge(US_STATE, {"deadline_tz": "America/Chicago", "data": {"subjects_by_state": {"US-TX": 249}}})
    result = assess(merge(smaller, ev(determined_at="2026-04-01T12:00:00Z")))
    assert result["US-TX-521.053-AG"]["status"] == "not_required"


def test_california_attorney_general_copy_waits_for_consumer_notice(assess):
    """Cal. Civ. Code 1798.82(f): 15 days after notifying consumers; not a knowledge event, no fallback."""
    facts = merge(US_STATE, {"data": {"subjects_by_state": {"US-CA": 501}}})
    waiting = assess(merge(facts, ev(discovered_at="2026-02-10T18:00:00Z")))["US-CA-1798.82-AG"]
    assert (waiting["status"], waiting["due_utc"]) == ("awaiting_trigger", None)
    assert "events.consumers_notified_at" in [p["name"] for p in waiting["pending"]]
    notified = assess(
        merge(facts, ev(discovered_at="2026-02-10T18:00:00Z", consumers_notified_at="2026-03-01T20:00:00Z"))
    )
    # consumers notified 1 Mar 2026 (PST) -> 16 Mar 2026 23:59:59 PDT
    assert notified["US-CA-1798.82-AG"]["due_utc"] == "2026-03-17T06:59:59Z"


def test_vermont_attorney_general_14_business_days(assess):
    """9 V.S.A. 2435(b)(3): the AG's preliminary notice, 14 business days on Vermont's calendar."""
    facts = merge(US_STATE, {"deadline_tz": "America/New_York", "jurisdictions": ["US-VT"]})
    vermont = assess(merge(facts, ev(discovered_at="2026-11-02T15:00:00Z")))["US-VT-2435-AG"]
    # Mon 2 Nov 2026 excluded; skips Veterans Day (11 Nov) -> Mon 23 Nov 2026 23:59:59 EST
    assert vermont["due_utc"] == "2026-11-24T04:59:59Z"


def test_lgpd_complement_anchored_on_the_submission(assess):
    """Res. CD/ANPD 15/2024 Art 6: the complement runs 20 business days from the communication."""
    facts = {
        "deadline_tz": "America/Sao_Paulo",
        "jurisdictions": ["BR"],
        "data": {"personal_data": True},
        "decisions": {"relevant_risk": decision(True)},
        **KEY_LOST,
        "events": {"aware_at": "2026-04-17T15:00:00Z", "lgpd_communication_submitted_at": "2026-04-22T15:00:00Z"},
    }
    complement = assess(facts)["BR-LGPD-48-COMP"]
    # Wed 22 Apr 2026 excluded; 20 business days skipping 1 May (Labour Day) -> Thu 21 May 2026 23:59:59 BRT
    assert complement["due_utc"] == "2026-05-22T02:59:59Z"


def test_dora_weekend_relief_for_a_payment_institution(assess):
    # classified Sat 9 May 2026 08:00Z: due Sat 12:00Z; relief to Mon 11 May 12:00 CEST
    result = assess(merge(DORA, ev(aware_at="2026-05-09T06:00:00Z", classified_major_at="2026-05-09T08:00:00Z")))
    initial = result["EU-DORA-19-INI"]
    assert initial["due_utc"] == "2026-05-09T12:00:00Z"
    assert initial["relief"]["due_utc"] == "2026-05-11T10:00:00Z"
    assert initial["relief"]["rule"] == "EU-DORA-WEEKEND"


def test_dora_relief_skips_the_member_state_holiday(assess):
    # initial submitted Mon 11 May 2026 10:00Z: intermediate due Thu 14 May (Ascension Day in DE) -> Fri 15 May 12:00
    facts = merge(
        DORA,
        ev(
            aware_at="2026-05-09T06:00:00Z",
            classified_major_at="2026-05-09T08:00:00Z",
            dora_initial_submitted_at="2026-05-11T10:00:00Z",
        ),
    )
    intermediate = assess(facts)["EU-DORA-19-INT"]
    assert intermediate["due_utc"] == "2026-05-14T10:00:00Z"
    assert intermediate["relief"]["due_utc"] == "2026-05-15T10:00:00Z"
    assert intermediate["relief"]["reason"].startswith("due on a non-working day (2026-05-14, calendar DE)")


def test_dora_no_relief_for_credit_institutions_initial_report_but_for_the_final(assess):
    credit = merge(DORA, {"entity": {"dora": "credit_institution"}})
    result = assess(
        merge(
            credit,
            ev(
                aware_at="2026-05-09T06:00:00Z",
                classified_major_at="2026-05-09T08:00:00Z",
                dora_intermediate_submitted_at="2026-05-13T10:00:00Z",
            ),
        )
    )
    assert result["EU-DORA-19-INI"]["relief"] is None
    # intermediate submitted 13 May 2026 -> final due Sat 13 Jun 2026: relief applies to final reports for all
    final = result["EU-DORA-19-FIN"]
    assert final["due_utc"] == "2026-06-13T21:59:59Z"
    assert final["relief"]["due_utc"] == "2026-06-15T10:00:00Z"


def test_dora_no_relief_on_a_working_day(assess):
    # classified Mon 4 May 2026: due Mon 14:00Z, a working day in DE
    result = assess(merge(DORA, ev(aware_at="2026-05-04T08:00:00Z", classified_major_at="2026-05-04T10:00:00Z")))
    assert result["EU-DORA-19-INI"]["relief"] is None


def test_dora_no_relief_for_a_nis2_entity(assess):
    facts = merge(merge(DORA, {"entity": {"nis2": "important"}}), ev(aware_at="2026-05-09T06:00:00Z"))
    result = assess(merge(facts, ev(aware_at="2026-05-09T06:00:00Z", classified_major_at="2026-05-09T08:00:00Z")))
    assert result["EU-DORA-19-INI"]["relief"] is None


def test_decisions_are_reported_with_who_and_when(assess):
    facts = merge(
        DORA,
        {
            "decisions": {
                "high_risk": decision(True, by="dpo@example.com", at="2026-03-28T09:00:00+01:00"),
            },
            "events": {"aware_at": "2026-03-27T10:00:00Z"},
        },
    )
    gdpr34 = assess(facts)["EU-GDPR-34"]
    assert gdpr34["decisions"] == [
        {"name": "high_risk", "value": True, "by": "dpo@example.com", "at": "2026-03-28T08:00:00Z"}
    ]


def test_reasons_name_the_lost_harbour_and_the_trigger(assess):
    facts = merge(DORA, ev(aware_at="2026-03-27T10:00:00Z"))
    reasons = assess(facts)["EU-GDPR-33"]["reasons"]
    assert any(reason.startswith("safe harbour lost: the key is compromised") for reason in reasons)
    assert "trigger: aware_at at 2026-03-27T10:00:00Z" in reasons


def test_sec_explanation_lists_the_skipped_holidays(assess):
    facts = {"deadline_tz": "UTC", "entity": {"sec_registrant": True}}
    sec = assess(merge(facts, ev(materiality_determined_at="2026-06-29T14:00:00Z")))["US-SEC-8K-105"]
    assert sec["deadline_tz"] == "America/New_York"
    assert sec["due_local"] == "2026-07-06T17:30:00-04:00"
    assert "2026-07-03 Independence Day (observed)" in sec["explanation"]


def test_in_force_without_a_trigger_uses_as_of(assess):
    from datetime import UTC, datetime

    facts = {"deadline_tz": "Asia/Kolkata", "jurisdictions": ["IN"], "data": {"personal_data": True}}
    assert assess(facts, as_of=datetime(2026, 12, 1, tzinfo=UTC))["IN-DPDP-R7"]["status"] == "not_in_force"
    assert assess(facts, as_of=datetime(2027, 6, 1, tzinfo=UTC))["IN-DPDP-R7"]["status"] == "awaiting_trigger"


def test_milestones_of_an_operator_rule_carry_their_status(catalogue):
    """A milestone is counted from its own event, undated while that is not recorded, and provisional
    while a condition on it is not decided (operator rules may still use milestones)."""
    from dataclasses import replace as dc_replace

    from regulatory.engine import obligations_assess
    from regulatory.facts import facts_parse
    from regulatory.types import Condition, DeadlineSpec, Milestone

    rule = dc_replace(
        catalogue.rule("US-TX-521.053"),
        milestones=(
            Milestone("follow-up", DeadlineSpec(kind="calendar_days", value=10), "consumers_notified_at"),
            Milestone(
                "large breach",
                DeadlineSpec(kind="no_fixed_period"),
                when=(Condition("many people", "data.subjects_total", "gte", 1000),),
            ),
        ),
    )
    operator = dc_replace(catalogue, rules=(rule,))
    facts = merge(US_STATE, {"deadline_tz": "America/Chicago", "jurisdictions": ["US-TX"]})
    [texas] = obligations_assess(
        facts_parse(merge(facts, ev(determined_at="2026-04-01T12:00:00Z")), operator), operator
    )
    follow_up, large = texas.milestones
    assert (follow_up.status, follow_up.due_utc) == ("awaiting_trigger", None)
    assert large.status == "required"
    assert [p.name for p in large.pending] == ["data.subjects_total"]


def test_every_obligation_has_the_contract_fields(assess):
    result = assess(merge(DORA, ev(aware_at="2026-03-27T10:00:00Z")))
    for obligation in result.values():
        assert {"id", "status", "due_utc", "trigger_event", "rule", "citation", "confidence", "reasons"} <= set(
            obligation
        )
        assert obligation["status"] in {"required", "not_required", "exempt", "not_in_force", "awaiting_trigger"}
        assert obligation["reasons"]


def test_a_kept_harbour_exempts_before_any_risk_decision(assess):
    facts = merge(
        merge(DORA, {"encryption": {"encrypted": True, "key_compromised": False}}), ev(aware_at="2026-03-27T10:00:00Z")
    )
    assert assess(facts)["EU-GDPR-34"]["status"] == "exempt"
    lost = assess(merge(DORA, ev(aware_at="2026-03-27T10:00:00Z")))["EU-GDPR-34"]
    assert (lost["status"], lost["provisional"]) == ("required", True)  # high risk not decided: provisional
