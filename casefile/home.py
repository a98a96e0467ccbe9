"""The case files' section of the auditor's home page: the latest case files and the two trust
anchors (the signing certificate, the audit checkpoint key) to download for offline verification."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from casefile.models import CaseFileExport
from webapp import roles
from webapp.home import HOME_ROWS, HomeSection, home_section_register


def _case_files(user: Any, now: datetime) -> dict[str, Any]:
    exports = CaseFileExport.objects.select_related("incident", "requested_by").order_by("-requested_at")
    return {"exports": list(exports[:HOME_ROWS])}


def register() -> None:
    home_section_register(
        HomeSection("case_files", roles.AUDITOR, "Case files", "casefile/home/case_files.html", _case_files, order=20)
    )
