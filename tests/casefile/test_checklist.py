"""The CEK-19 checklist answers AG-9 and AG-11 from the sections the regulatory and notification apps
provide: what applies and how it stands, not merely that something exists."""

from __future__ import annotations

import dataclasses

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
    assert item.status == PARTLY  # its own evidence shows a party that never acknowledged: not green
    assert (
        "2 notification(s) to parties (1 acknowledged, 1 escalated); 2 parties notified; 1 acknowledged." in item.answer
    )
    assert "Gap: 1 message(s) not acknowledged: App." in item.answer
    acked = Section("Notifications and acknowledgements", columns, rows[:1], note="1 party notified; 1 acknowledged.")
    assert _items(closed_case, {"notifications": acked})["AG-11"].status == EVIDENCED


def test_without_sections_both_are_not_evidenced(closed_case):
    items = _items(closed_case, {})
    assert (items["AG-9"].status, items["AG-11"].status) == (NOT_EVIDENCED, NOT_EVIDENCED)


def test_a_key_neither_replaced_nor_retired_is_a_named_gap_never_green(closed_case):
    data = case_data(closed_case, generated_by="p-auditor", now=timezone.now())
    assert all(k.replacement or k.retired for k in data.keys if k.state == "compromised")
    items = {item.id: item for item in checklist(data)}
    assert not items["AG-2"].gaps, items["AG-2"].answer
    prompts = next(k for k in data.keys if k.ai_category)
    data.keys = [
        dataclasses.replace(k, replacement="") if k.id == prompts.id else k for k in data.keys
    ]  # as main left the model-weights key: compromised, no replacement, nothing said
    items = {item.id: item for item in checklist(data)}
    assert items["AG-2"].status == PARTLY
    assert f"1 compromised key(s) neither replaced nor retired: {prompts.alias}" in items["AG-2"].answer
    assert items["AG-10"].status == PARTLY
    assert f"AI key(s) neither replaced nor retired: {prompts.alias}" in items["AG-10"].answer
    data.keys = [
        dataclasses.replace(k, retired="the model is withdrawn") if k.id == prompts.id else k for k in data.keys
    ]
    items = {item.id: item for item in checklist(data)}
    assert not items["AG-2"].gaps
    assert f"{prompts.alias}: the model is withdrawn" in items["AG-2"].answer


def test_refused_uses_not_on_record_keep_ag7_partly_evidenced(closed_case):
    item = _items(closed_case, {})["AG-7"]
    assert item.status == PARTLY
    assert "refused uses" in item.gaps[-1]
    assert item.tone == "partial"


def test_the_detection_configuration_at_opening_is_assessed(closed_case):
    from audit.actors import Actor
    from incidents.services.detection import webhook_source_configure

    data = case_data(closed_case, generated_by="p-auditor", now=timezone.now())
    assert data.detection == []  # none configured when it opened
    webhook_source_configure(name="later-scanner", kind="github", owner="AppSec", actor=Actor.system("t"))
    assert case_data(closed_case, generated_by="p-auditor", now=timezone.now()).detection == []  # added after
