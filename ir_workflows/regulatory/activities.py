"""The obligation clock's one activity: record and send a reminder or an escalation (a service call)."""

from __future__ import annotations

from temporalio import activity

from ir_workflows.incident.activities import django_activity
from ir_workflows.regulatory.types import CLOCK_NOTICE_ACTIVITY, ClockNotice, ClockNoticeResult
from regulatory.services.clocks import clock_notice_send


@activity.defn(name=CLOCK_NOTICE_ACTIVITY)
@django_activity
def obligation_clock_notice(notice: ClockNotice) -> ClockNoticeResult:
    return ClockNoticeResult(
        sent=clock_notice_send(
            incident=notice.incident,
            rule_id=notice.rule_id,
            kind=notice.kind,
            fraction=notice.fraction,
            due_at=notice.due_at,
        )
    )


REGULATORY_ACTIVITIES = (obligation_clock_notice,)
