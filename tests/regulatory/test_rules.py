"""Table tests: every rule of the catalogue, with its due time counted by hand (see the comment per row).

Conventions (REGULATORY.md): hours on the UTC timeline; calendar days end 23:59:59 local on day N;
business days exclude the trigger day and skip weekends and holidays (observed and operator days);
SEC ends 17:30 ET; months keep the date or take the month's last day; no fixed period -> due null.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.regulatory.conftest import decision, merge

KEY_LOST = {"encryption": {"encrypted": True, "key_compromised": True}}
KEY_KEPT = {"encryption": {"encrypted": True, "key_compromised": False}}
PLAIN = {"encryption": {"encrypted": False, "key_compromised": False}}

EU = {
    "deadline_tz": "Europe/Berlin",
    "jurisdictions": ["DE"],
    "entity": {"roles": ["controller"], "member_state": "DE"},
    "data": {"personal_data": True, "categories": ["personal_data"], "subjects_total": 100},
    **KEY_LOST,
}
NIS2 = merge(
    EU,
    {
        "entity": {"nis2": "essential", "trust_service_provider": False},
        "decisions": {"significant_incident": decision(True)},
    },
)
DORA = merge(EU, {"entity": {"dora": "payment_institution"}})
UK = merge(EU, {"deadline_tz": "Europe/London", "jurisdictions": ["UK"]})
HIPAA = {
    "deadline_tz": "America/New_York",
    "jurisdictions": ["US"],
    "entity": {"hipaa": "covered_entity"},
    "data": {"personal_data": True, "categories": ["phi"]},
    **KEY_LOST,
}
SEC = {"deadline_tz": "America/Chicago", "jurisdictions": ["US"], "entity": {"sec_registrant": True}}
US_STATE = {"deadline_tz": "America/Los_Angeles", "data": {"personal_data": True}, **KEY_LOST}
FEDRAMP = {"deadline_tz": "America/New_York", "jurisdictions": ["US"], "entity": {"fedramp": "20x"}}
BR = {
    "deadline_tz": "America/Sao_Paulo",
    "jurisdictions": ["BR"],
    "data": {"personal_data": True},
    "decisions": {"relevant_risk": decision(True)},
    **KEY_LOST,
}


def ev(**events: str) -> dict[str, Any]:
    return {"events": events}


def dec(**decisions: Any) -> dict[str, Any]:
    return {"decisions": {name: decision(value) for name, value in decisions.items()}}


# One row per case, kept on one line each so the table reads as a table.
# fmt: off
CASES: list[tuple[str, str, dict[str, Any], str, str | None]] = [
    # ---- GDPR: 72 h on the UTC timeline; DST spring (29 Mar 2026) and autumn (25 Oct 2026) changes
    ("gdpr33 across spring DST", "EU-GDPR-33", merge(EU, ev(aware_at="2026-03-27T14:30:00+01:00")), "required", "2026-03-30T13:30:00Z"),
    ("gdpr33 across autumn DST", "EU-GDPR-33", merge(EU, ev(aware_at="2026-10-23T10:00:00Z")), "required", "2026-10-26T10:00:00Z"),
    ("gdpr33 encrypted, key kept: harbour", "EU-GDPR-33", merge(merge(EU, KEY_KEPT), ev(aware_at="2026-03-27T10:00:00Z")), "exempt", None),
    ("gdpr33 plaintext", "EU-GDPR-33", merge(merge(EU, PLAIN), ev(aware_at="2026-03-27T10:00:00Z")), "required", "2026-03-30T10:00:00Z"),
    ("gdpr33 decided unlikely risk", "EU-GDPR-33", merge(merge(EU, dec(unlikely_risk=True)), ev(aware_at="2026-03-27T10:00:00Z")), "exempt", None),
    # Art 33(1) runs from awareness; not recorded, the clock runs provisionally from detection (fallback order)
    ("gdpr33 awareness not yet: from detection, provisional", "EU-GDPR-33", merge(EU, ev(detected_at="2026-03-27T10:00:00Z")), "required", "2026-03-30T10:00:00Z"),
    ("gdpr33 no knowledge event at all", "EU-GDPR-33", EU, "awaiting_trigger", None),
    ("gdpr33 processor only", "EU-GDPR-33", merge(merge(EU, {"entity": {"roles": ["processor"]}}), ev(aware_at="2026-03-27T10:00:00Z")), "not_required", None),
    ("gdpr33 outside the EU, no EU establishment (Art 3)", "EU-GDPR-33", merge(merge(EU, {"jurisdictions": ["JP"], "entity": {"establishments": ["JP"]}}), ev(aware_at="2026-03-27T10:00:00Z")), "not_required", None),
    ("gdpr33-2 processor", "EU-GDPR-33-2", merge(merge(EU, {"entity": {"roles": ["processor"]}}), ev(aware_at="2026-03-27T10:00:00Z")), "required", None),
    ("gdpr34 high risk, key lost", "EU-GDPR-34", merge(merge(EU, dec(high_risk=True)), ev(aware_at="2026-03-27T10:00:00Z")), "required", None),
    ("gdpr34 high risk, key kept", "EU-GDPR-34", merge(merge(merge(EU, KEY_KEPT), dec(high_risk=True)), ev(aware_at="2026-03-27T10:00:00Z")), "exempt", None),
    ("gdpr34 not high risk", "EU-GDPR-34", merge(merge(EU, dec(high_risk=False)), ev(aware_at="2026-03-27T10:00:00Z")), "not_required", None),
    ("gdpr34 risk not decided: provisional (Art 34(1))", "EU-GDPR-34", merge(EU, ev(aware_at="2026-03-27T10:00:00Z")), "required", None),
    ("uk gdpr33 over a weekend", "UK-GDPR-33", merge(UK, ev(aware_at="2026-05-01T16:00:00+01:00")), "required", "2026-05-04T15:00:00Z"),
    ("uk gdpr34 high risk", "UK-GDPR-34", merge(merge(UK, dec(high_risk=True)), ev(aware_at="2026-05-01T16:00:00Z")), "required", None),
    ("pecr 72 h since DUAA", "UK-PECR-5A", merge(merge(UK, {"entity": {"public_electronic_communications": True}}), ev(aware_at="2025-08-21T09:00:00Z")), "required", "2025-08-24T09:00:00Z"),
    ("pecr 24 h before DUAA", "UK-PECR-5A", merge(merge(UK, {"entity": {"public_electronic_communications": True}}), ev(aware_at="2025-08-19T09:00:00Z")), "required", "2025-08-20T09:00:00Z"),
    ("eprivacy 24 h from detection", "EU-EPRIVACY-611", merge(merge(EU, {"entity": {"public_electronic_communications": True}}), ev(detected_at="2026-06-01T08:00:00Z")), "required", "2026-06-02T08:00:00Z"),
    # ---- NIS2: early warning, notification, final report one month after SUBMISSION (month end, leap year)
    ("nis2 early warning 24 h", "EU-NIS2-23-EW", merge(NIS2, ev(aware_at="2026-03-28T20:00:00Z")), "required", "2026-03-29T20:00:00Z"),
    ("nis2 notification 72 h", "EU-NIS2-23-IN", merge(NIS2, ev(aware_at="2026-03-28T20:00:00Z")), "required", "2026-03-31T20:00:00Z"),
    ("nis2 trust service 24 h", "EU-NIS2-23-IN", merge(merge(NIS2, {"entity": {"trust_service_provider": True}}), ev(aware_at="2026-03-28T20:00:00Z")), "required", "2026-03-29T20:00:00Z"),
    ("nis2 not significant", "EU-NIS2-23-IN", merge(merge(NIS2, dec(significant_incident=False)), ev(aware_at="2026-03-28T20:00:00Z")), "not_required", None),
    ("nis2 not an entity", "EU-NIS2-23-EW", merge(merge(NIS2, {"entity": {"nis2": "none"}}), ev(aware_at="2026-03-28T20:00:00Z")), "not_required", None),
    ("nis2 final: awaiting submission", "EU-NIS2-23-FR", merge(NIS2, ev(aware_at="2026-03-28T20:00:00Z")), "awaiting_trigger", None),
    # submitted 31 Jan 2026 -> 28 Feb 2026 23:59:59 CET
    ("nis2 final: month end", "EU-NIS2-23-FR", merge(NIS2, ev(aware_at="2026-01-29T20:00:00Z", nis2_notification_submitted_at="2026-01-31T10:00:00Z")), "required", "2026-02-28T22:59:59Z"),
    # submitted 31 Jan 2028 (leap year) -> 29 Feb 2028
    ("nis2 final: leap year", "EU-NIS2-23-FR", merge(NIS2, ev(aware_at="2028-01-29T20:00:00Z", nis2_notification_submitted_at="2028-01-31T10:00:00Z")), "required", "2028-02-29T22:59:59Z"),
    # submitted 10 Mar 2026 (CET) -> 10 Apr 2026 23:59:59 CEST
    ("nis2 final: across DST", "EU-NIS2-23-FR", merge(NIS2, ev(aware_at="2026-03-07T20:00:00Z", nis2_notification_submitted_at="2026-03-10T12:00:00Z")), "required", "2026-04-10T21:59:59Z"),
    ("nis2 recipients: decided", "EU-NIS2-23-REC", merge(merge(NIS2, dec(significant_incident=True, service_provision_affected=True)), ev(aware_at="2026-03-28T20:00:00Z")), "required", None),
    # ---- DORA: 4 h from classification capped at 24 h from awareness; follow-ups from submissions
    ("dora initial 4 h", "EU-DORA-19-INI", merge(DORA, ev(aware_at="2026-05-04T08:00:00Z", classified_major_at="2026-05-04T10:00:00Z")), "required", "2026-05-04T14:00:00Z"),
    ("dora initial capped at aware+24 h", "EU-DORA-19-INI", merge(DORA, ev(aware_at="2026-05-04T08:00:00Z", classified_major_at="2026-05-05T06:00:00Z")), "required", "2026-05-05T08:00:00Z"),
    ("dora initial classified after 24 h", "EU-DORA-19-INI", merge(DORA, ev(aware_at="2026-05-04T08:00:00Z", classified_major_at="2026-05-06T09:00:00Z")), "required", "2026-05-06T13:00:00Z"),
    ("dora initial not classified", "EU-DORA-19-INI", merge(DORA, ev(aware_at="2026-05-04T08:00:00Z")), "awaiting_trigger", None),
    ("dora not a financial entity", "EU-DORA-19-INI", merge(merge(EU, {"entity": {"dora": "none"}}), ev(aware_at="2026-05-04T08:00:00Z", classified_major_at="2026-05-04T10:00:00Z")), "not_required", None),
    ("dora intermediate 72 h after initial submission", "EU-DORA-19-INT", merge(DORA, ev(aware_at="2026-05-04T08:00:00Z", classified_major_at="2026-05-04T10:00:00Z", dora_initial_submitted_at="2026-05-04T13:00:00Z")), "required", "2026-05-07T13:00:00Z"),
    ("dora intermediate awaiting initial", "EU-DORA-19-INT", merge(DORA, ev(aware_at="2026-05-04T08:00:00Z", classified_major_at="2026-05-04T10:00:00Z")), "awaiting_trigger", None),
    ("dora final 1 month after intermediate", "EU-DORA-19-FIN", merge(DORA, ev(aware_at="2026-05-04T08:00:00Z", classified_major_at="2026-05-04T10:00:00Z", dora_intermediate_submitted_at="2026-05-07T12:00:00Z")), "required", "2026-06-07T21:59:59Z"),
    ("dora clients", "EU-DORA-19-CLI", merge(merge(DORA, dec(clients_financial_interests_affected=True)), ev(classified_major_at="2026-05-04T10:00:00Z")), "required", None),
    ("dora weekend rule is a modifier", "EU-DORA-WEEKEND", merge(DORA, ev(classified_major_at="2026-05-04T10:00:00Z")), "not_required", None),
    # ---- HIPAA: 60 calendar days in the deadline zone; 500 thresholds; safe harbour
    # discovered 15 Jan 2026 -> 16 Mar 2026 23:59:59 EDT (DST began 8 Mar)
    ("hipaa individuals across DST", "US-HIPAA-404", merge(HIPAA, ev(discovered_at="2026-01-15T15:00:00Z")), "required", "2026-03-17T03:59:59Z"),
    # discovered 5 Sep 2026 -> 4 Nov 2026 23:59:59 EST (DST ended 1 Nov)
    ("hipaa individuals autumn DST", "US-HIPAA-404", merge(HIPAA, ev(discovered_at="2026-09-05T15:00:00Z")), "required", "2026-11-05T04:59:59Z"),
    ("hipaa key kept: secured PHI", "US-HIPAA-404", merge(merge(HIPAA, KEY_KEPT), ev(discovered_at="2026-01-15T15:00:00Z")), "exempt", None),
    ("hipaa low probability", "US-HIPAA-404", merge(merge(HIPAA, dec(low_probability_of_compromise=True)), ev(discovered_at="2026-01-15T15:00:00Z")), "exempt", None),
    ("hipaa not a covered entity", "US-HIPAA-404", merge(merge(HIPAA, {"entity": {"hipaa": "none"}}), ev(discovered_at="2026-01-15T15:00:00Z")), "not_required", None),
    ("hipaa media: exactly 500 in a state", "US-HIPAA-406", merge(merge(HIPAA, {"data": {"subjects_by_state": {"US-NY": 500}}}), ev(discovered_at="2026-01-15T15:00:00Z")), "not_required", None),
    ("hipaa media: 501 in a state", "US-HIPAA-406", merge(merge(HIPAA, {"data": {"subjects_by_state": {"US-NY": 501}}}), ev(discovered_at="2026-01-15T15:00:00Z")), "required", "2026-03-17T03:59:59Z"),
    ("hipaa media: 600 over two states", "US-HIPAA-406", merge(merge(HIPAA, {"data": {"subjects_by_state": {"US-NY": 300, "US-NJ": 300}}}), ev(discovered_at="2026-01-15T15:00:00Z")), "not_required", None),
    ("hipaa HHS large: 500 in total", "US-HIPAA-408-L", merge(merge(HIPAA, {"data": {"subjects_by_state": {"US-NY": 250, "US-NJ": 250}}}), ev(discovered_at="2026-01-15T15:00:00Z")), "required", "2026-03-17T03:59:59Z"),
    ("hipaa HHS large: 499", "US-HIPAA-408-L", merge(merge(HIPAA, {"data": {"subjects_by_state": {"US-NY": 499}}}), ev(discovered_at="2026-01-15T15:00:00Z")), "not_required", None),
    ("hipaa HHS small: 500 is large", "US-HIPAA-408-S", merge(merge(HIPAA, {"data": {"subjects_by_state": {"US-NY": 500}}}), ev(discovered_at="2026-01-15T15:00:00Z")), "not_required", None),
    # discovered 2026 -> 31 Dec 2026 + 60 days = 1 Mar 2027 23:59:59 EST
    ("hipaa HHS small: annual log", "US-HIPAA-408-S", merge(merge(HIPAA, {"data": {"subjects_by_state": {"US-NY": 499}}}), ev(discovered_at="2026-05-01T15:00:00Z")), "required", "2027-03-02T04:59:59Z"),
    # discovered 2027 -> 31 Dec 2027 + 60 days = 29 Feb 2028 (leap year)
    ("hipaa HHS small: leap year", "US-HIPAA-408-S", merge(merge(HIPAA, {"data": {"subjects_by_state": {"US-NY": 10}}}), ev(discovered_at="2027-06-01T15:00:00Z")), "required", "2028-03-01T04:59:59Z"),
    ("hipaa business associate", "US-HIPAA-410", merge(merge(HIPAA, {"entity": {"hipaa": "business_associate"}}), ev(discovered_at="2026-01-15T15:00:00Z")), "required", "2026-03-17T03:59:59Z"),
    # ---- SEC 8-K: 4 SEC business days, 17:30 ET, federal holidays incl. observed days and EO closures
    # Mon 29 Jun 2026: Tue 30, Wed 1, Thu 2, [Fri 3 Jul = Independence Day observed], Mon 6 Jul 17:30 EDT
    ("sec observed Independence Day", "US-SEC-8K-105", merge(SEC, ev(materiality_determined_at="2026-06-29T14:00:00Z")), "required", "2026-07-06T21:30:00Z"),
    # 23:00 EDT Monday is still Monday in New York (day 0), whatever the entity's zone
    ("sec late evening ET is the same day", "US-SEC-8K-105", merge(SEC, ev(materiality_determined_at="2026-06-30T03:00:00Z")), "required", "2026-07-06T21:30:00Z"),
    # Sat 21 Nov 2026: Mon 23 = day 1, Tue 24, Wed 25, [Thu 26 Thanksgiving], Fri 27 17:30 EST
    ("sec weekend determination + Thanksgiving", "US-SEC-8K-105", merge(SEC, ev(materiality_determined_at="2026-11-21T15:00:00Z")), "required", "2026-11-27T22:30:00Z"),
    # Mon 22 Dec 2025: Tue 23, [24 EO, 25 Christmas, 26 EO], Mon 29, Tue 30, Wed 31 17:30 EST
    ("sec executive-order closures", "US-SEC-8K-105", merge(SEC, ev(materiality_determined_at="2025-12-22T15:00:00Z")), "required", "2025-12-31T22:30:00Z"),
    # Wed 22 Dec 2027: Thu 23, [Fri 24 Christmas observed], Mon 27, Tue 28, Wed 29
    ("sec Christmas observed on Friday", "US-SEC-8K-105", merge(SEC, ev(materiality_determined_at="2027-12-22T15:00:00Z")), "required", "2027-12-29T22:30:00Z"),
    # Thu 5 Mar 2026: Fri 6, Mon 9, Tue 10, Wed 11 Mar 17:30 EDT (DST began 8 Mar)
    ("sec across DST", "US-SEC-8K-105", merge(SEC, ev(materiality_determined_at="2026-03-05T15:00:00Z")), "required", "2026-03-11T21:30:00Z"),
    ("sec materiality not determined", "US-SEC-8K-105", merge(SEC, ev(discovered_at="2026-03-05T15:00:00Z")), "awaiting_trigger", None),
    ("sec AG delay", "US-SEC-8K-105", merge(merge(SEC, dec(sec_attorney_general_delay=True)), ev(materiality_determined_at="2026-03-05T15:00:00Z")), "exempt", None),
    ("sec not a registrant", "US-SEC-8K-105", merge(merge(SEC, {"entity": {"sec_registrant": False}}), ev(materiality_determined_at="2026-03-05T15:00:00Z")), "not_required", None),
    ("reg S-P larger in force", "US-SEC-REGSP", merge({"deadline_tz": "America/New_York", "entity": {"sec_reg_sp": "larger"}, "data": {"categories": ["customer_information"]}}, ev(aware_at="2026-02-01T15:00:00Z")), "required", "2026-03-04T04:59:59Z"),
    ("reg S-P smaller not yet", "US-SEC-REGSP", merge({"deadline_tz": "America/New_York", "entity": {"sec_reg_sp": "smaller"}, "data": {"categories": ["customer_information"]}}, ev(aware_at="2026-02-01T15:00:00Z")), "not_in_force", None),
    ("reg S-P smaller from June 2026", "US-SEC-REGSP", merge({"deadline_tz": "America/New_York", "entity": {"sec_reg_sp": "smaller"}, "data": {"categories": ["customer_information"]}}, ev(aware_at="2026-07-01T15:00:00Z")), "required", "2026-08-01T03:59:59Z"),
    ("circia proposed", "US-CIRCIA-72", merge({"deadline_tz": "UTC", "entity": {"circia_covered": True}}, ev(determined_at="2026-07-01T15:00:00Z")), "not_in_force", None),
    ("circia ransom proposed", "US-CIRCIA-RANSOM", merge({"deadline_tz": "UTC", "entity": {"circia_covered": True}}, ev(ransom_paid_at="2026-07-01T15:00:00Z")), "not_in_force", None),
    # ---- FedRAMP
    ("fedramp rev5 1 h", "US-FEDRAMP-REV5", merge(merge(FEDRAMP, {"entity": {"fedramp": "rev5"}}), ev(identified_at="2026-12-01T10:00:00Z")), "required", "2026-12-01T11:00:00Z"),
    ("fedramp rev5 superseded 2027", "US-FEDRAMP-REV5", merge(merge(FEDRAMP, {"entity": {"fedramp": "rev5"}}), ev(identified_at="2027-01-02T10:00:00Z")), "not_in_force", None),
    ("fedramp 2026 rules: rev5 not before 2027", "US-FEDRAMP-IEC-2026", merge(merge(FEDRAMP, {"entity": {"fedramp": "rev5"}}), ev(reportability_evaluated_at="2026-12-01T10:00:00Z")), "not_in_force", None),
    ("fedramp 2026 rules: no class -> strictest", "US-FEDRAMP-IEC-2026", merge(FEDRAMP, ev(reportability_evaluated_at="2026-12-01T10:00:00Z")), "required", "2026-12-01T10:15:00Z"),
    ("fedramp class D PAIN 5 default", "US-FEDRAMP-IEC-2026", merge(merge(FEDRAMP, {"entity": {"fedramp_class": "D"}}), ev(reportability_evaluated_at="2026-12-01T10:00:00Z")), "required", "2026-12-01T10:15:00Z"),
    ("fedramp class D PAIN 2", "US-FEDRAMP-IEC-2026", merge(merge(merge(FEDRAMP, {"entity": {"fedramp_class": "D"}}), dec(fedramp_pain_level=2)), ev(reportability_evaluated_at="2026-12-01T10:00:00Z")), "required", "2026-12-01T11:00:00Z"),
    ("fedramp class C PAIN 2", "US-FEDRAMP-IEC-2026", merge(merge(merge(FEDRAMP, {"entity": {"fedramp_class": "C"}}), dec(fedramp_pain_level=2)), ev(reportability_evaluated_at="2026-12-01T10:00:00Z")), "required", "2026-12-02T10:00:00Z"),
    # class B PAIN 1, Thu 24 Dec 2026: [Fri 25 Christmas] -> Mon 28 Dec 23:59:59 EST
    ("fedramp class B PAIN 1 over Christmas", "US-FEDRAMP-IEC-2026", merge(merge(merge(FEDRAMP, {"entity": {"fedramp_class": "B"}}), dec(fedramp_pain_level=1)), ev(reportability_evaluated_at="2026-12-24T15:00:00Z")), "required", "2026-12-29T04:59:59Z"),
    ("fedramp class A PAIN 4", "US-FEDRAMP-IEC-2026", merge(merge(merge(FEDRAMP, {"entity": {"fedramp_class": "A"}}), dec(fedramp_pain_level=4)), ev(reportability_evaluated_at="2026-12-01T10:00:00Z")), "required", "2026-12-01T16:00:00Z"),
    # ---- banking, NYDFS, FTC
    ("bank 36 h", "US-BANK-36H", merge({"deadline_tz": "America/New_York", "entity": {"bank": True}}, merge(dec(notification_incident=True), ev(determined_at="2026-04-01T12:00:00Z"))), "required", "2026-04-03T00:00:00Z"),
    ("bank not a notification incident", "US-BANK-36H", merge({"deadline_tz": "America/New_York", "entity": {"bank": True}}, merge(dec(notification_incident=False), ev(determined_at="2026-04-01T12:00:00Z"))), "not_required", None),
    ("bank service provider", "US-BANK-BSP", merge({"deadline_tz": "America/New_York", "entity": {"bank_service_provider": True}}, merge(dec(material_disruption_4h=True), ev(determined_at="2026-04-01T12:00:00Z"))), "required", None),
    ("nydfs 72 h", "US-NYDFS-500.17", merge({"deadline_tz": "America/New_York", "entity": {"nydfs_covered": True}}, merge(dec(reportable_cyber_incident=True), ev(determined_at="2026-04-01T12:00:00Z"))), "required", "2026-04-04T12:00:00Z"),
    ("nydfs extortion 24 h", "US-NYDFS-EXTORTION", merge({"deadline_tz": "America/New_York", "entity": {"nydfs_covered": True}}, ev(ransom_paid_at="2026-04-01T12:00:00Z")), "required", "2026-04-02T12:00:00Z"),
    ("ftc 500 consumers, key lost", "US-FTC-SAFEGUARDS", merge({"deadline_tz": "America/New_York", "entity": {"ftc_safeguards": True}, "data": {"categories": ["customer_information"], "subjects_total": 500}, **KEY_LOST}, ev(discovered_at="2026-04-01T12:00:00Z")), "required", "2026-05-02T03:59:59Z"),
    ("ftc 500 consumers, key kept", "US-FTC-SAFEGUARDS", merge({"deadline_tz": "America/New_York", "entity": {"ftc_safeguards": True}, "data": {"categories": ["customer_information"], "subjects_total": 500}, **KEY_KEPT}, ev(discovered_at="2026-04-01T12:00:00Z")), "exempt", None),
    ("ftc 499 consumers", "US-FTC-SAFEGUARDS", merge({"deadline_tz": "America/New_York", "entity": {"ftc_safeguards": True}, "data": {"categories": ["customer_information"], "subjects_total": 499}, **KEY_LOST}, ev(discovered_at="2026-04-01T12:00:00Z")), "not_required", None),
    # ---- US states (30 days from discovery unless noted; key acquired -> harbour lost)
    # discovered 10 Feb 2026 (PST) -> 12 Mar 2026 23:59:59 PDT
    ("california 30 days across DST", "US-CA-1798.82", merge(merge(US_STATE, {"jurisdictions": ["US-CA"]}), ev(discovered_at="2026-02-10T18:00:00Z")), "required", "2026-03-13T06:59:59Z"),
    ("california key kept", "US-CA-1798.82", merge(merge(merge(US_STATE, KEY_KEPT), {"jurisdictions": ["US-CA"]}), ev(discovered_at="2026-02-10T18:00:00Z")), "exempt", None),
    ("california before SB 446: no fixed period", "US-CA-1798.82", merge(merge(US_STATE, {"jurisdictions": ["US-CA"]}), ev(discovered_at="2025-12-10T18:00:00Z")), "required", None),
    ("new york before the 30-day amendment", "US-NY-899-aa", merge(merge(US_STATE, {"deadline_tz": "America/New_York", "data": {"subjects_by_state": {"US-NY": 3}}}), ev(discovered_at="2024-12-01T12:00:00Z")), "required", None),
    ("new york 30 days", "US-NY-899-aa", merge(merge(US_STATE, {"deadline_tz": "America/New_York", "data": {"subjects_by_state": {"US-NY": 3}}}), ev(discovered_at="2026-04-01T12:00:00Z")), "required", "2026-05-02T03:59:59Z"),
    ("texas 60 days from determination", "US-TX-521.053", merge(merge(US_STATE, {"deadline_tz": "America/Chicago", "jurisdictions": ["US-TX"]}), ev(determined_at="2026-04-01T12:00:00Z")), "required", "2026-06-01T04:59:59Z"),
    ("florida 30 days", "US-FL-501.171", merge(merge(US_STATE, {"deadline_tz": "America/New_York", "jurisdictions": ["US-FL"]}), ev(determined_at="2026-04-01T12:00:00Z")), "required", "2026-05-02T03:59:59Z"),
    ("florida no risk of harm", "US-FL-501.171", merge(merge(merge(US_STATE, {"jurisdictions": ["US-FL"]}), dec(risk_of_harm=False)), ev(determined_at="2026-04-01T12:00:00Z")), "exempt", None),
    ("colorado 30 days", "US-CO-6-1-716", merge(merge(US_STATE, {"deadline_tz": "America/Denver", "jurisdictions": ["US-CO"]}), ev(determined_at="2026-04-01T12:00:00Z")), "required", "2026-05-02T05:59:59Z"),
    ("washington 30 days", "US-WA-19.255", merge(merge(US_STATE, {"jurisdictions": ["US-WA"]}), ev(discovered_at="2026-04-01T12:00:00Z")), "required", "2026-05-02T06:59:59Z"),
    ("vermont 45 days", "US-VT-2435", merge(merge(US_STATE, {"deadline_tz": "America/New_York", "jurisdictions": ["US-VT"]}), ev(discovered_at="2026-11-02T15:00:00Z")), "required", "2026-12-18T04:59:59Z"),
    ("other states: Alabama 45 days", "US-OTHER-STATES", merge(merge(US_STATE, {"deadline_tz": "America/Chicago", "jurisdictions": ["US-AL", "US-CT"]}), ev(discovered_at="2026-04-01T12:00:00Z")), "required", "2026-05-17T04:59:59Z"),
    ("other states: Connecticut 60 days", "US-OTHER-STATES", merge(merge(US_STATE, {"deadline_tz": "America/New_York", "jurisdictions": ["US-CT"]}), ev(discovered_at="2026-04-01T12:00:00Z")), "required", "2026-06-01T03:59:59Z"),
    ("other states: none affected", "US-OTHER-STATES", merge(merge(US_STATE, {"jurisdictions": ["US-CA"]}), ev(discovered_at="2026-04-01T12:00:00Z")), "not_required", None),
    # ---- card brands (contractual)
    ("visa immediately", "PCI-VISA", merge({"deadline_tz": "UTC", "entity": {"card_brands": ["visa"]}, "data": {"categories": ["payment"]}}, ev(detected_at="2026-04-01T12:00:00Z")), "required", None),
    ("mastercard 24 h", "PCI-MASTERCARD", merge({"deadline_tz": "UTC", "entity": {"card_brands": ["mastercard"]}, "data": {"categories": ["payment"]}}, ev(aware_at="2026-04-01T12:00:00Z")), "required", "2026-04-02T12:00:00Z"),
    ("amex 24 h", "PCI-AMEX", merge({"deadline_tz": "UTC", "entity": {"card_brands": ["amex"]}, "data": {"categories": ["payment"]}}, ev(discovered_at="2026-04-01T12:00:00Z")), "required", "2026-04-02T12:00:00Z"),
    ("amex not accepted", "PCI-AMEX", merge({"deadline_tz": "UTC", "entity": {"card_brands": ["visa"]}, "data": {"categories": ["payment"]}}, ev(discovered_at="2026-04-01T12:00:00Z")), "not_required", None),
    # ---- rest of the world
    ("cert-in 6 h", "IN-CERTIN", merge({"deadline_tz": "Asia/Kolkata", "jurisdictions": ["IN"]}, ev(detected_at="2026-04-01T12:00:00Z")), "required", "2026-04-01T18:00:00Z"),
    ("dpdp not before May 2027", "IN-DPDP-R7", merge({"deadline_tz": "Asia/Kolkata", "jurisdictions": ["IN"], "data": {"personal_data": True}}, ev(aware_at="2026-04-01T12:00:00Z")), "not_in_force", None),
    ("dpdp from May 2027", "IN-DPDP-R7", merge({"deadline_tz": "Asia/Kolkata", "jurisdictions": ["IN"], "data": {"personal_data": True}}, ev(aware_at="2027-06-01T12:00:00Z")), "required", "2027-06-04T12:00:00Z"),
    # assessed 00:00 SGT 2 Apr (16:00Z 1 Apr) -> 5 Apr 23:59:59 SGT
    ("pdpa 3 days after the assessment day", "SG-PDPA-26D", merge({"deadline_tz": "Asia/Singapore", "jurisdictions": ["SG"], "entity": {"roles": ["controller"]}, "data": {"personal_data": True, "subjects_total": 500}}, ev(notifiable_assessed_at="2026-04-01T16:00:00Z")), "required", "2026-04-05T15:59:59Z"),
    ("pdpa small, harm undecided: provisional (s.26B)", "SG-PDPA-26D", merge({"deadline_tz": "Asia/Singapore", "jurisdictions": ["SG"], "entity": {"roles": ["controller"]}, "data": {"personal_data": True, "subjects_total": 499}}, ev(notifiable_assessed_at="2026-04-01T16:00:00Z")), "required", "2026-04-05T15:59:59Z"),
    ("pdpa small, no significant harm", "SG-PDPA-26D", merge(merge({"deadline_tz": "Asia/Singapore", "jurisdictions": ["SG"], "entity": {"roles": ["controller"]}, "data": {"personal_data": True, "subjects_total": 499}}, dec(significant_harm=False)), ev(notifiable_assessed_at="2026-04-01T16:00:00Z")), "not_required", None),
    ("pdpa data intermediary", "SG-PDPA-26C-DI", merge({"deadline_tz": "Asia/Singapore", "jurisdictions": ["SG"], "entity": {"roles": ["processor"]}, "data": {"personal_data": True}}, ev(aware_at="2026-04-01T16:00:00Z")), "required", None),
    ("australia assessment 30 days", "AU-NDB", merge({"deadline_tz": "Australia/Sydney", "jurisdictions": ["AU"], "data": {"personal_data": True}}, ev(suspected_at="2026-03-10T00:00:00Z")), "required", "2026-04-09T13:59:59Z"),
    ("pipeda rrosh", "CA-PIPEDA-10.1", merge(merge({"deadline_tz": "America/Toronto", "jurisdictions": ["CA"], "data": {"personal_data": True}}, dec(rrosh=True)), ev(determined_at="2026-03-10T00:00:00Z")), "required", None),
    ("pipeda no rrosh", "CA-PIPEDA-10.1", merge(merge({"deadline_tz": "America/Toronto", "jurisdictions": ["CA"], "data": {"personal_data": True}}, dec(rrosh=False)), ev(determined_at="2026-03-10T00:00:00Z")), "not_required", None),
    ("appi 30 days", "JP-APPI-26", merge({"deadline_tz": "Asia/Tokyo", "jurisdictions": ["JP"], "data": {"personal_data": True, "subjects_total": 1001}, **KEY_LOST}, ev(aware_at="2026-03-10T00:00:00Z")), "required", "2026-04-09T14:59:59Z"),
    ("appi wrongful purpose 60 days", "JP-APPI-26", merge(merge({"deadline_tz": "Asia/Tokyo", "jurisdictions": ["JP"], "data": {"personal_data": True, "subjects_total": 10}, **KEY_LOST}, dec(wrongful_purpose=True)), ev(aware_at="2026-03-10T00:00:00Z")), "required", "2026-05-09T14:59:59Z"),
    ("appi key properly managed", "JP-APPI-26", merge({"deadline_tz": "Asia/Tokyo", "jurisdictions": ["JP"], "data": {"personal_data": True, "subjects_total": 1001}, **KEY_KEPT}, ev(aware_at="2026-03-10T00:00:00Z")), "exempt", None),
    # Fri 17 Apr 2026: Mon 20, [Tue 21 Tiradentes], Wed 22, Thu 23 23:59:59 BRT
    ("lgpd 3 business days over Tiradentes", "BR-LGPD-48", merge(BR, ev(aware_at="2026-04-17T15:00:00Z")), "required", "2026-04-24T02:59:59Z"),
    # Wed 1 Apr 2026: Thu 2, [Fri 3 Good Friday], Mon 6, Tue 7
    ("lgpd over Good Friday", "BR-LGPD-48", merge(BR, ev(aware_at="2026-04-01T15:00:00Z")), "required", "2026-04-08T02:59:59Z"),
    ("lgpd small agent 6 business days", "BR-LGPD-48", merge(merge(BR, {"entity": {"small_processing_agent": True}}), ev(aware_at="2026-04-17T15:00:00Z")), "required", "2026-04-29T02:59:59Z"),
    ("lgpd no relevant risk", "BR-LGPD-48", merge(merge(BR, dec(relevant_risk=False)), ev(aware_at="2026-04-17T15:00:00Z")), "not_required", None),
    ("china other operator 4 h", "CN-CSIRM-2025", merge(merge({"deadline_tz": "Asia/Shanghai", "jurisdictions": ["CN"], "entity": {"cn_operator": "other"}}, dec(cn_relatively_major=True)), ev(discovered_at="2026-04-01T12:00:00Z")), "required", "2026-04-01T16:00:00Z"),
    ("china CII 1 h", "CN-CSIRM-2025", merge(merge({"deadline_tz": "Asia/Shanghai", "jurisdictions": ["CN"], "entity": {"cn_operator": "cii"}}, dec(cn_relatively_major=True)), ev(discovered_at="2026-04-01T12:00:00Z")), "required", "2026-04-01T13:00:00Z"),
    ("china central organ 2 h", "CN-CSIRM-2025", merge(merge({"deadline_tz": "Asia/Shanghai", "jurisdictions": ["CN"], "entity": {"cn_operator": "central_organ"}}, dec(cn_relatively_major=True)), ev(discovered_at="2026-04-01T12:00:00Z")), "required", "2026-04-01T14:00:00Z"),
    ("pipl immediately", "CN-PIPL-57", merge({"deadline_tz": "Asia/Shanghai", "jurisdictions": ["CN"], "data": {"personal_data": True}}, ev(discovered_at="2026-04-01T12:00:00Z")), "required", None),
    # ---- proposals are never in force
    ("digital omnibus proposal", "EU-OMNIBUS-GDPR", merge(merge(EU, dec(high_risk=True)), ev(aware_at="2026-03-27T10:00:00Z")), "not_in_force", None),
    ("uk cyber bill proposal", "UK-CSRB", merge(merge(UK, dec(significant_incident=True)), ev(aware_at="2026-03-27T10:00:00Z")), "not_in_force", None),
]
# fmt: on


@pytest.mark.parametrize(("name", "rule_id", "facts", "status", "due_utc"), CASES, ids=[case[0] for case in CASES])
def test_rule(assess, name, rule_id, facts, status, due_utc):
    obligation = assess(facts)[rule_id]
    assert (obligation["status"], obligation["due_utc"]) == (status, due_utc), obligation["reasons"]
    assert obligation["reasons"]
    assert obligation["citation"]


def test_every_rule_has_a_case(catalogue):
    from tests.regulatory import test_provisional, test_subduties, test_triggers

    tested = {case[1] for case in CASES}
    tested |= {case[1] for case in test_subduties.CASES}
    tested |= {case[1] for case in test_provisional.CASES}
    tested |= {case[1] for case in test_triggers.CASES}
    assert {rule.id for rule in catalogue.rules} - tested == set()


def test_catalogue_covers_the_reference_ids(catalogue):
    # The ids of REGULATORY.md's catalogue table (2026-11-29), plus the sub-duties split off them.
    reference = """EU-GDPR-33 EU-GDPR-33-2 EU-GDPR-34 UK-GDPR-33 UK-GDPR-34 UK-PECR-5A EU-EPRIVACY-611 EU-NIS2-23-EW
    EU-NIS2-23-IN EU-NIS2-23-FR EU-NIS2-23-REC EU-DORA-19-INI EU-DORA-19-INT EU-DORA-19-FIN EU-DORA-WEEKEND
    EU-DORA-19-CLI US-HIPAA-404 US-HIPAA-406 US-HIPAA-408-L US-HIPAA-408-S US-HIPAA-410 US-SEC-8K-105 US-SEC-REGSP
    US-CIRCIA-72 US-CIRCIA-RANSOM US-FEDRAMP-REV5 US-FEDRAMP-IEC-2026 US-BANK-36H US-BANK-BSP US-NYDFS-500.17
    US-NYDFS-EXTORTION US-FTC-SAFEGUARDS PCI-VISA PCI-MASTERCARD PCI-AMEX IN-CERTIN IN-DPDP-R7 SG-PDPA-26D
    SG-PDPA-26C-DI AU-NDB CA-PIPEDA-10.1 JP-APPI-26 BR-LGPD-48 CN-CSIRM-2025 CN-PIPL-57 US-CA-1798.82 US-NY-899-aa
    US-TX-521.053 US-FL-501.171 US-CO-6-1-716 US-WA-19.255 US-VT-2435 US-OTHER-STATES EU-OMNIBUS-GDPR UK-CSRB"""
    shipped = {rule.id for rule in catalogue.rules}
    assert set(reference.split()) <= shipped
    # every further rule is a sub-duty of a reference regime (its id starts like one), or the state vendor duty
    regimes = {"-".join(ref.split("-")[:2]) for ref in reference.split()}
    for extra in shipped - set(reference.split()):
        assert "-".join(extra.split("-")[:2]) in regimes or extra == "US-STATES-VENDOR", extra
