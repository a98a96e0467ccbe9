"""The approvals' section of the home page: the decisions waiting for this person, with deadlines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from approvals.selectors import requests_awaiting
from webapp.countdown import until
from webapp.home import HOME_ROWS, HomeSection, home_section_register


def _decisions(user: Any, now: datetime) -> dict[str, Any]:
    awaiting = list(requests_awaiting(user)[: HOME_ROWS + 1])
    rows = [
        {
            "request": request,
            "action": request.action.replace("_", " ").capitalize(),
            "left": until(request.expires_at, now),
            "overdue": request.expires_at <= now,
        }
        for request in awaiting[:HOME_ROWS]
    ]
    return {"rows": rows, "more": len(awaiting) > HOME_ROWS}


def register() -> None:
    home_section_register(
        HomeSection("decisions", "approver", "Your pending decisions", "approvals/home/decisions.html", _decisions)
    )
