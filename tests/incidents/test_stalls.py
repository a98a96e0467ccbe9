"""A stalled step is reported without the database: log, a Redis key per incident (cleared when the step
resumes) and a mail to the on-call list of the settings; no query is made."""

from __future__ import annotations

from django.core import mail
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from incidents.services.stalls import StallReport, incident_stall_report, stall_key, stalls_active


def test_a_stall_is_reported_and_cleared_without_the_database(db):
    report = StallReport("INC-STALL-1", "notify", "step incident_run_hooks has been retrying", "2026-12-03T10:00:00")
    with (
        override_settings(SEQUESTER_STALL_ALERT_EMAILS=["oncall@example.org"]),
        CaptureQueriesContext(connection) as queries,
    ):
        assert incident_stall_report(report=report) == ["log", "redis", "mail"]
        assert stalls_active()["INC-STALL-1"]["step"] == "notify"
        resumed = StallReport(report.reference, report.step, "resumed", report.since, resumed=True)
        assert incident_stall_report(report=resumed) == ["log", "redis", "mail"]
    assert len(queries) == 0
    assert "INC-STALL-1" not in stalls_active()
    assert [m.to for m in mail.outbox] == [["oncall@example.org"], ["oncall@example.org"]]
    assert "stalled" in mail.outbox[0].subject
    assert "resumed" in mail.outbox[1].subject
    assert stall_key("INC-STALL-1") == "sequester:stall:INC-STALL-1"


def test_an_unreachable_redis_still_logs(db):
    report = StallReport("INC-STALL-2", "restrict", "no key restricted", "2026-12-03T10:00:00")
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0", SEQUESTER_STALL_ALERT_EMAILS=[]):
        assert incident_stall_report(report=report) == ["log"]
