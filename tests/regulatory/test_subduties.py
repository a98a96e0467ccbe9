"""Table tests: every sub-duty is its own obligation, with its own trigger and status, undated where the
law gives no period (never only words in ``recipient`` or ``qualifier``). Each row cites the provision;
due times are counted by hand in the comment above the row (conventions in test_rules.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.regulatory.conftest import decision, entity, merge
from tests.regulatory.test_rules import KEY_LOST, ev

EU = {
    "deadline_tz": "Europe/Berlin",
    "jurisdictions": ["DE"],
    "entity": entity(roles=["controller"], establishments=["DE"], member_state="DE"),
    "data": {"personal_data": True, "categories": ["personal_data"], "subjects_total": 100},
    **KEY_LOST,
}
UK = merge(EU, {"deadline_tz": "Europe/London", "jurisdictions": ["UK"], "entity": {"establishments": ["UK"]}})
PECR = merge(UK, {"entity": {"public_electronic_communications": True}})
EPRIVACY = merge(EU, {"entity": {"public_electronic_communications": True}})
NIS2 = merge(EU, {"entity": {"nis2": "essential"}, "decisions": {"significant_incident": decision(True)}})
DORA = merge(EU, {"entity": {"dora": "payment_institution"}})
SEC = {"deadline_tz": "America/New_York", "jurisdictions": ["US"], "entity": entity(sec_registrant=True)}
US = {
    "deadline_tz": "America/New_York",
    "entity": entity(roles=["controller"]),
    "data": {"personal_data": True},
    **KEY_LOST,
}
PCI = {"deadline_tz": "UTC", "entity": entity(card_brands=["visa"]), "data": {"categories": ["payment"]}}
WORLD = {"entity": entity(roles=["controller"]), "data": {"personal_data": True, "subjects_total": 2000}, **KEY_LOST}


def dec(**decisions: Any) -> dict[str, Any]:
    return {"decisions": {name: decision(value) for name, value in decisions.items()}}


def state(code: str, count: int, zone: str) -> dict[str, Any]:
    return merge(US, {"deadline_tz": zone, "data": {"subjects_by_state": {code: count}}})


# fmt: off
CASES: list[tuple[str, str, dict[str, Any], str, str | None]] = [
    # ---- EU / UK
    ("GDPR Art 33(5): every breach documented, even exempt from notice", "EU-GDPR-33-5", merge(merge(EU, dec(unlikely_risk=True)), ev(aware_at="2026-03-27T10:00:00Z")), "required", None),
    ("UK GDPR Art 33(2): processor tells the controller", "UK-GDPR-33-2", merge(merge(UK, {"entity": {"roles": ["processor"]}}), ev(aware_at="2026-05-01T10:00:00Z")), "required", None),
    ("UK GDPR Art 33(5): the breach record", "UK-GDPR-33-5", merge(UK, ev(aware_at="2026-05-01T10:00:00Z")), "required", None),
    ("PECR reg 5A(3): subscribers adversely affected, key lost", "UK-PECR-5A-SUB", merge(merge(PECR, dec(subscriber_adversely_affected=True)), ev(aware_at="2026-05-01T10:00:00Z")), "required", None),
    ("PECR reg 5A(4)-(5): unintelligible data, key kept", "UK-PECR-5A-SUB", merge(merge(merge(PECR, dec(subscriber_adversely_affected=True)), {"encryption": {"key_compromised": False}}), ev(aware_at="2026-05-01T10:00:00Z")), "exempt", None),
    ("PECR reg 5A(3): not adversely affected", "UK-PECR-5A-SUB", merge(merge(PECR, dec(subscriber_adversely_affected=False)), ev(aware_at="2026-05-01T10:00:00Z")), "not_required", None),
    ("Reg 611/2013 Art 3: subscribers, from detection", "EU-EPRIVACY-611-SUB", merge(merge(EPRIVACY, dec(subscriber_adversely_affected=True)), ev(detected_at="2026-06-01T08:00:00Z")), "required", None),
    # initial notification 2 Jun 2026 (CEST) -> day 3 = 5 Jun 23:59:59 CEST
    ("Reg 611/2013 Art 2(3): second notification within 3 days", "EU-EPRIVACY-611-2ND", merge(merge(EPRIVACY, dec(initial_report_incomplete=True)), ev(detected_at="2026-06-01T08:00:00Z", eprivacy_initial_submitted_at="2026-06-02T08:00:00Z")), "required", "2026-06-05T21:59:59Z"),
    ("Reg 611/2013 Art 2(3): initial notification complete", "EU-EPRIVACY-611-2ND", merge(merge(EPRIVACY, dec(initial_report_incomplete=False)), ev(eprivacy_initial_submitted_at="2026-06-02T08:00:00Z")), "not_required", None),
    ("NIS2 Art 23(4)(c): intermediate report on request", "EU-NIS2-23-INT", merge(NIS2, ev(significant_incident_aware_at="2026-05-01T10:00:00Z", nis2_intermediate_requested_at="2026-05-05T10:00:00Z")), "required", None),
    ("NIS2 Art 23(4)(c): not requested", "EU-NIS2-23-INT", merge(NIS2, ev(significant_incident_aware_at="2026-05-01T10:00:00Z")), "awaiting_trigger", None),
    # handled 15 May 2026 -> 15 Jun 2026 23:59:59 CEST
    ("NIS2 Art 23(4)(e): final report a month after handling", "EU-NIS2-23-FR2", merge(merge(NIS2, dec(nis2_incident_ongoing=True)), ev(incident_handled_at="2026-05-15T10:00:00Z")), "required", "2026-06-15T21:59:59Z"),
    ("NIS2 Art 23(4)(e): not ongoing at the final report", "EU-NIS2-23-FR2", merge(merge(NIS2, dec(nis2_incident_ongoing=False)), ev(incident_handled_at="2026-05-15T10:00:00Z")), "not_required", None),
    ("DORA RTS 2025/301 Art 5(1)(b): updated intermediate once recovered", "EU-DORA-19-INT-UPD", merge(DORA, ev(classified_major_at="2026-05-04T10:00:00Z", dora_activities_recovered_at="2026-05-06T10:00:00Z")), "required", None),
    # ---- US federal
    ("8-K Item 1.05 Instr. 1: materiality determination without unreasonable delay", "US-SEC-8K-DET", merge(SEC, ev(discovered_at="2026-11-20T15:00:00Z")), "required", None),
    # determined Mon 23 Nov 2026: Tue 24, Wed 25, [Thu 26 Thanksgiving], Fri 27, Mon 30 at 17:30 EST
    ("8-K Item 1.05 Instr. 2: 8-K/A four business days over Thanksgiving", "US-SEC-8K-105-A", merge(SEC, ev(sec_information_determined_at="2026-11-23T15:00:00Z")), "required", "2026-11-30T22:30:00Z"),
    ("Reg S-P 248.30(a)(5)(i): service provider tells the covered institution in 72 h", "US-SEC-REGSP-SP", merge({"deadline_tz": "America/New_York", "entity": entity(sec_reg_sp_service_provider=True), "data": {"categories": ["customer_information"]}}, ev(aware_at="2026-07-01T12:00:00Z")), "required", "2026-07-04T12:00:00Z"),
    ("FedRAMP Rev5 playbook: CISA within the hour when an attack vector", "US-FEDRAMP-REV5-CISA", merge({"deadline_tz": "America/New_York", "entity": entity(fedramp="rev5"), **dec(cisa_attack_vector=True)}, ev(identified_at="2026-09-01T12:00:00Z")), "required", "2026-09-01T13:00:00Z"),
    ("FedRAMP Rev5 playbook: final report after post-incident activity", "US-FEDRAMP-REV5-FIN", merge({"deadline_tz": "America/New_York", "entity": entity(fedramp="rev5")}, ev(incident_handled_at="2026-09-01T12:00:00Z")), "required", None),
    # class A, resolved Fri 4 Dec 2026: Mon 7, Tue 8, Wed 9 23:59:59 EST
    ("FedRAMP 2026 FRR IEC-CSO-FIR: class A final report 3 business days", "US-FEDRAMP-IEC-2026-FIN", merge({"deadline_tz": "America/New_York", "entity": entity(fedramp="20x", fedramp_class="A")}, ev(incident_handled_at="2026-12-04T15:00:00Z")), "required", "2026-12-10T04:59:59Z"),
    ("FedRAMP 2026 FRR IEC-CSO-FIR: class D PAIN 5 final report 3 h", "US-FEDRAMP-IEC-2026-FIN", merge({"deadline_tz": "America/New_York", "entity": entity(fedramp="20x", fedramp_class="D")}, ev(incident_handled_at="2026-12-04T15:00:00Z")), "required", "2026-12-04T18:00:00Z"),
    # paid 1 Apr 2026 (EDT) -> day 30 = 1 May 23:59:59 EDT
    ("23 NYCRR 500.17(c)(2): written description within 30 days", "US-NYDFS-EXTORTION-DESC", merge({"deadline_tz": "America/New_York", "entity": entity(nydfs_covered=True)}, ev(ransom_paid_at="2026-04-01T12:00:00Z")), "required", "2026-05-02T03:59:59Z"),
    # ---- US states: each recipient its own obligation
    # consumers notified 1 Mar 2026 (PST) -> 16 Mar 23:59:59 PDT
    ("Cal. Civ. Code 1798.82(f): AG sample copy, more than 500 residents", "US-CA-1798.82-AG", merge(state("US-CA", 501, "America/Los_Angeles"), ev(discovered_at="2026-02-10T18:00:00Z", consumers_notified_at="2026-03-01T20:00:00Z")), "required", "2026-03-17T06:59:59Z"),
    ("Cal. Civ. Code 1798.82(f): exactly 500 residents", "US-CA-1798.82-AG", merge(state("US-CA", 500, "America/Los_Angeles"), ev(discovered_at="2026-02-10T18:00:00Z", consumers_notified_at="2026-03-01T20:00:00Z")), "not_required", None),
    ("N.Y. GBL 899-aa(8)(a): AG, Department of State and State Police", "US-NY-899-aa-AG", merge(state("US-NY", 3, "America/New_York"), ev(discovered_at="2026-04-01T12:00:00Z")), "required", None),
    ("N.Y. GBL 899-aa(8)(a): DFS for a DFS covered entity", "US-NY-899-aa-DFS", merge(merge(state("US-NY", 3, "America/New_York"), {"entity": {"nydfs_covered": True}}), ev(discovered_at="2026-04-01T12:00:00Z")), "required", None),
    ("N.Y. GBL 899-aa(8)(a): DFS, not a DFS covered entity", "US-NY-899-aa-DFS", merge(state("US-NY", 3, "America/New_York"), ev(discovered_at="2026-04-01T12:00:00Z")), "not_required", None),
    # determined 1 Apr 2026 (CDT) -> 1 May 23:59:59 CDT
    ("Tex. Bus. & Com. Code 521.053(i): AG in 30 days, 250 residents", "US-TX-521.053-AG", merge(state("US-TX", 250, "America/Chicago"), ev(determined_at="2026-04-01T12:00:00Z")), "required", "2026-05-02T04:59:59Z"),
    ("Fla. Stat. 501.171(3): Department of Legal Affairs, 500 residents", "US-FL-501.171-DLA", merge(state("US-FL", 500, "America/New_York"), ev(determined_at="2026-04-01T12:00:00Z")), "required", "2026-05-02T03:59:59Z"),
    ("Fla. Stat. 501.171(3): 499 residents", "US-FL-501.171-DLA", merge(state("US-FL", 499, "America/New_York"), ev(determined_at="2026-04-01T12:00:00Z")), "not_required", None),
    ("C.R.S. 6-1-716(2)(f): AG, 500 residents", "US-CO-6-1-716-AG", merge(state("US-CO", 500, "America/Denver"), ev(determined_at="2026-04-01T12:00:00Z")), "required", "2026-05-02T05:59:59Z"),
    ("RCW 19.255.010(7): AG, more than 500 residents", "US-WA-19.255-AG", merge(state("US-WA", 501, "America/Los_Angeles"), ev(discovered_at="2026-04-01T12:00:00Z")), "required", "2026-05-02T06:59:59Z"),
    # Mon 2 Nov 2026 excluded; skips Veterans Day (11 Nov) -> Mon 23 Nov 23:59:59 EST
    ("9 V.S.A. 2435(b)(3): AG preliminary notice, 14 business days", "US-VT-2435-AG", merge(state("US-VT", 10, "America/New_York"), ev(discovered_at="2026-11-02T15:00:00Z")), "required", "2026-11-24T04:59:59Z"),
    ("other states: the AG where the state requires it (low confidence)", "US-OTHER-STATES-AG", merge(state("US-CT", 10, "America/New_York"), ev(discovered_at="2026-04-01T12:00:00Z")), "required", None),
    ("Cal. Civ. Code 1798.82(b) and peers: the processor tells the data owner", "US-STATES-VENDOR", merge(merge(state("US-CA", 10, "America/Los_Angeles"), {"entity": {"roles": ["processor"]}}), ev(discovered_at="2026-04-01T12:00:00Z")), "required", None),
    ("Cal. Civ. Code 1798.82(a): a processor does not notify residents itself", "US-CA-1798.82", merge(merge(state("US-CA", 10, "America/Los_Angeles"), {"entity": {"roles": ["processor"]}}), ev(discovered_at="2026-04-01T12:00:00Z")), "not_required", None),
    # ---- card brands: Visa's report and account numbers, each with its own period
    # detected Wed 1 Apr 2026: Thu 2, Fri 3, Mon 6 (working days, no holidays stated)
    ("Visa WTDIC: incident report within 3 working days", "PCI-VISA-REPORT", merge(PCI, ev(detected_at="2026-04-01T12:00:00Z")), "required", "2026-04-06T23:59:59Z"),
    # Thu 2 ... Wed 15 Apr 2026: 10 working days
    ("Visa WTDIC: at-risk account numbers within 10 working days", "PCI-VISA-ACCOUNTS", merge(PCI, ev(detected_at="2026-04-01T12:00:00Z")), "required", "2026-04-15T23:59:59Z"),
    # ---- rest of the world
    ("DPDP Rules 2025 r.7(2)(a): intimation to the Board without delay", "IN-DPDP-R7-BOARD", merge(merge(WORLD, {"deadline_tz": "Asia/Kolkata", "jurisdictions": ["IN"]}), ev(aware_at="2027-06-01T12:00:00Z")), "required", None),
    ("DPDP Rules 2025 r.7(1): each Data Principal without delay", "IN-DPDP-R7-DP", merge(merge(WORLD, {"deadline_tz": "Asia/Kolkata", "jurisdictions": ["IN"]}), ev(aware_at="2027-06-01T12:00:00Z")), "required", None),
    ("DPDP Rules 2025 r.7: not before the rules apply", "IN-DPDP-R7-DP", merge(merge(WORLD, {"deadline_tz": "Asia/Kolkata", "jurisdictions": ["IN"]}), ev(aware_at="2026-06-01T12:00:00Z")), "not_in_force", None),
    # aware 00:00 SGT 2 Apr -> day 30 = 2 May 23:59:59 SGT
    ("PDPA s.26C(2): assessment, 30 days expected", "SG-PDPA-26C", merge(merge(WORLD, {"deadline_tz": "Asia/Singapore", "jurisdictions": ["SG"]}), ev(aware_at="2026-04-01T16:00:00Z")), "required", "2026-05-02T15:59:59Z"),
    ("PDPA s.26D(2): affected individuals, significant harm", "SG-PDPA-26D-IND", merge(merge(merge(WORLD, {"deadline_tz": "Asia/Singapore", "jurisdictions": ["SG"]}), dec(significant_harm=True, remedial_action_avoids_harm=False)), ev(notifiable_assessed_at="2026-04-01T16:00:00Z")), "required", None),
    ("PDPA s.26D(5)(a): remedial action avoids the harm", "SG-PDPA-26D-IND", merge(merge(merge(WORLD, {"deadline_tz": "Asia/Singapore", "jurisdictions": ["SG"]}), dec(significant_harm=True, remedial_action_avoids_harm=True)), ev(notifiable_assessed_at="2026-04-01T16:00:00Z")), "exempt", None),
    ("PDPA s.26D(2): scale alone, no significant harm: no individuals' notice", "SG-PDPA-26D-IND", merge(merge(merge(WORLD, {"deadline_tz": "Asia/Singapore", "jurisdictions": ["SG"]}), dec(significant_harm=False)), ev(notifiable_assessed_at="2026-04-01T16:00:00Z")), "not_required", None),
    ("Privacy Act s 26WK: statement to the OAIC once grounds to believe", "AU-NDB-OAIC", merge(merge(merge(WORLD, {"deadline_tz": "Australia/Sydney", "jurisdictions": ["AU"]}), dec(serious_harm=True, remedial_action_avoids_harm=False)), ev(suspected_at="2026-03-01T00:00:00Z", believed_at="2026-03-10T00:00:00Z")), "required", None),
    ("Privacy Act s 26WL: affected individuals", "AU-NDB-IND", merge(merge(merge(WORLD, {"deadline_tz": "Australia/Sydney", "jurisdictions": ["AU"]}), dec(serious_harm=True, remedial_action_avoids_harm=False)), ev(believed_at="2026-03-10T00:00:00Z")), "required", None),
    ("Privacy Act s 26WF: remedial action, no eligible data breach", "AU-NDB-OAIC", merge(merge(merge(WORLD, {"deadline_tz": "Australia/Sydney", "jurisdictions": ["AU"]}), dec(serious_harm=True, remedial_action_avoids_harm=True)), ev(believed_at="2026-03-10T00:00:00Z")), "exempt", None),
    ("PIPEDA s.10.1(3): affected individuals", "CA-PIPEDA-10.1-IND", merge(merge(merge(WORLD, {"deadline_tz": "America/Toronto", "jurisdictions": ["CA"]}), dec(rrosh=True)), ev(determined_at="2026-03-10T00:00:00Z")), "required", None),
    ("PIPEDA s.10.2: organisations able to reduce the risk", "CA-PIPEDA-10.2", merge(merge(merge(WORLD, {"deadline_tz": "America/Toronto", "jurisdictions": ["CA"]}), dec(rrosh=True)), ev(determined_at="2026-03-10T00:00:00Z")), "required", None),
    ("PIPEDA s.10.3: record of every breach, even without RROSH", "CA-PIPEDA-10.3", merge(merge(merge(WORLD, {"deadline_tz": "America/Toronto", "jurisdictions": ["CA"]}), dec(rrosh=False)), ev(determined_at="2026-03-10T00:00:00Z")), "required", None),
    ("APPI Art 26(1), Rules Art 8(1): preliminary report promptly", "JP-APPI-26-PRELIM", merge(merge(WORLD, {"deadline_tz": "Asia/Tokyo", "jurisdictions": ["JP"]}), ev(aware_at="2026-03-10T00:00:00Z")), "required", None),
    ("APPI Art 26(2): notice to the persons concerned", "JP-APPI-26-IND", merge(merge(WORLD, {"deadline_tz": "Asia/Tokyo", "jurisdictions": ["JP"]}), ev(aware_at="2026-03-10T00:00:00Z")), "required", None),
    ("APPI: key properly managed, no preliminary report", "JP-APPI-26-PRELIM", merge(merge(merge(WORLD, {"deadline_tz": "Asia/Tokyo", "jurisdictions": ["JP"]}), {"encryption": {"key_compromised": False}}), ev(aware_at="2026-03-10T00:00:00Z")), "exempt", None),
    # Fri 17 Apr 2026: Mon 20, [Tue 21 Tiradentes], Wed 22, Thu 23 23:59:59 BRT
    ("Res. CD/ANPD 15/2024 Art 9: data subjects in 3 business days", "BR-LGPD-48-TIT", merge(merge(merge(WORLD, {"deadline_tz": "America/Sao_Paulo", "jurisdictions": ["BR"]}), dec(relevant_risk=True)), ev(aware_at="2026-04-17T15:00:00Z")), "required", "2026-04-24T02:59:59Z"),
    # Wed 22 Apr excluded; 20 business days skipping 1 May -> Thu 21 May 23:59:59 BRT
    ("Res. CD/ANPD 15/2024 Art 6: complement in 20 business days", "BR-LGPD-48-COMP", merge(merge(merge(WORLD, {"deadline_tz": "America/Sao_Paulo", "jurisdictions": ["BR"]}), dec(relevant_risk=True)), ev(aware_at="2026-04-17T15:00:00Z", lgpd_communication_submitted_at="2026-04-22T15:00:00Z")), "required", "2026-05-22T02:59:59Z"),
    ("Res. CD/ANPD 15/2024 Art 10: the incident record, even without relevant risk", "BR-LGPD-48-REC", merge(merge(merge(WORLD, {"deadline_tz": "America/Sao_Paulo", "jurisdictions": ["BR"]}), dec(relevant_risk=False)), ev(aware_at="2026-04-17T15:00:00Z")), "required", None),
    ("PIPL Art 57: the individuals concerned, key lost", "CN-PIPL-57-IND", merge(merge(WORLD, {"deadline_tz": "Asia/Shanghai", "jurisdictions": ["CN"]}), ev(discovered_at="2026-04-01T12:00:00Z")), "required", None),
    ("PIPL Art 57: measures avoid harm (key kept)", "CN-PIPL-57-IND", merge(merge(merge(WORLD, {"deadline_tz": "Asia/Shanghai", "jurisdictions": ["CN"]}), {"encryption": {"key_compromised": False}}), ev(discovered_at="2026-04-01T12:00:00Z")), "exempt", None),
]
# fmt: on


@pytest.mark.parametrize(("name", "rule_id", "facts", "status", "due_utc"), CASES, ids=[case[0] for case in CASES])
def test_sub_duty(assess, name, rule_id, facts, status, due_utc):
    obligation = assess(facts)[rule_id]
    assert (obligation["status"], obligation["due_utc"]) == (status, due_utc), obligation["reasons"]
    assert obligation["citation"]


# One report whose addressee depends on who the entity is: a routing, not several duties.
ROUTED = {"CN-CSIRM-2025"}


def test_no_sub_duty_left_in_words_only(catalogue):
    """Recipients name one addressee: none adds a second one on a condition ("; individuals if …",
    "(and subscribers …)", "+ …"), and no shipped rule keeps a sub-duty as a milestone."""
    for rule in catalogue.rules:
        conditional = re.search(r"\bif\b|\(and |\+", rule.recipient)
        assert conditional is None, (rule.id, rule.recipient)
        assert ";" not in rule.recipient or rule.id in ROUTED, (rule.id, rule.recipient)
    assert not [rule.id for rule in catalogue.rules if rule.milestones]
