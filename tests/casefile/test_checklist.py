"""The CEK-19 checklist answers AG-9 and AG-11 from the sections the regulatory and notification apps
provide: what applies and how it stands, not merely that something exists."""

from __future__ import annotations

from django.utils import timezone

from casefile.checklist import EVIDENCED, NOT_EVIDENCED, PARTLY, checklist
from casefile.gather import Section, case_data


def _items(case, sections):
    data = case_data(case, generated_by="p-auditor", now=timezone.now())
    data.sections = sections
    return {item.id: item for item in checklist(data)}


def _obligations(*states: str) -> Section:
    columns = ["rule", "state", "due (UTC)", "recipient", "filing", "citation", "confidence"]
    return Section(
        "Regulatory obligations", columns, [[f"R-{i}", s, "-", "-", "-", "-", "high"] for i, s in enumerate(states)]
    )


def test_obligations_filed_on_time_are_evidenced_and_counted(closed_case):
    items = _items(closed_case, {"obligations": _obligations("filed on time", "filed on time", "awaiting trigger")})
    assert items["AG-9"].status == EVIDENCED
    assert "3 regulatory obligation(s) apply (2 filed on time, 1 awaiting trigger)" in items["AG-9"].answer


def test_an_overdue_or_late_obligation_is_only_partly_evidenced(closed_case):
    assert _items(closed_case, {"obligations": _obligations("filed on time", "overdue")})["AG-9"].status == PARTLY
    assert _items(closed_case, {"obligations": _obligations("filed late")})["AG-9"].status == PARTLY


def test_notifications_are_counted_by_status_with_the_acknowledgements(closed_case):
    columns = ["Party", "Role", "Status", "Sent", "Channels", "Reminders", "Acknowledged"]
    rows = [
        ["HSM Co", "hsm_vendor", "acknowledged", "-", "email", "0", "yes"],
        ["App", "ap", "escalated", "-", "webhook", "2", "-"],
    ]
    section = Section("Notifications and acknowledgements", columns, rows, note="2 parties notified; 1 acknowledged.")
    item = _items(closed_case, {"notifications": section})["AG-11"]
    assert item.status == EVIDENCED
    assert (
        "2 notification(s) to parties (1 acknowledged, 1 escalated); 2 parties notified; 1 acknowledged." in item.answer
    )


def test_without_sections_both_are_not_evidenced(closed_case):
    items = _items(closed_case, {})
    assert (items["AG-9"].status, items["AG-11"].status) == (NOT_EVIDENCED, NOT_EVIDENCED)
