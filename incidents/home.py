"""The incidents' sections of the home page: a commander's incidents, what needs attention, the queue
waiting for a commander; the auditor's open and closed incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from incidents.models import Incident
from incidents.selectors import (
    incidents_commanded_by,
    incidents_needing_attention,
    incidents_recent,
    incidents_unassigned,
)
from webapp import roles
from webapp.home import HOME_ROWS, HomeSection, home_section_register


def _mine(user: Any, now: datetime) -> dict[str, Any]:
    return {"incidents": incidents_commanded_by(user, limit=HOME_ROWS), "scope": "mine"}


def _attention(user: Any, now: datetime) -> dict[str, Any]:
    return {"incidents": incidents_needing_attention(limit=HOME_ROWS), "scope": "attention"}


def _queue(user: Any, now: datetime) -> dict[str, Any]:
    return {"incidents": incidents_unassigned(limit=HOME_ROWS), "scope": "unassigned", "can_take": True}


def _audit(user: Any, now: datetime) -> dict[str, Any]:
    closed, closed_count = incidents_recent(status=Incident.Status.CLOSED, limit=HOME_ROWS)
    open_, open_count = incidents_recent(status=Incident.Status.OPEN, limit=HOME_ROWS)
    return {"closed": closed, "closed_count": closed_count, "open": open_, "open_count": open_count}


def register() -> None:
    rows = "incidents/home/rows.html"
    home_section_register(HomeSection("incidents_mine", roles.COMMANDER, "Your incidents", rows, _mine, order=10))
    home_section_register(
        HomeSection("incidents_attention", roles.COMMANDER, "Needs attention", rows, _attention, order=20)
    )
    home_section_register(
        HomeSection("incidents_queue", roles.COMMANDER, "Waiting for a commander", rows, _queue, order=40)
    )
    home_section_register(
        HomeSection("incidents_audit", roles.AUDITOR, "Incidents", "incidents/home/audit.html", _audit, order=10)
    )
