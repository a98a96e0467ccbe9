"""The evaluation's section of the auditor's home page: the latest period reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from evaluation.models import PeriodReport
from webapp import roles
from webapp.home import HomeSection, home_section_register

REPORT_ROWS = 5


def _period_reports(user: Any, now: datetime) -> dict[str, Any]:
    reports = PeriodReport.objects.only("id", "since", "until", "generated_at", "generated_by", "attested_at")
    return {"reports": list(reports.order_by("-generated_at")[:REPORT_ROWS])}


def register() -> None:
    template = "evaluation/home/period_reports.html"
    home_section_register(HomeSection("period_reports", roles.AUDITOR, "Period reports", template, _period_reports, 30))
