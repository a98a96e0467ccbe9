"""``{% regulatory_panel incident %}``: the incident page's clocks, without the incidents app knowing us."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from incidents.models import Incident
from regulatory.forms import fact_field_id
from regulatory.models import Assessment
from regulatory.selectors import incident_clocks
from webapp.countdown import countdown

register = template.Library()

ACTIVE = ("overdue", "at_risk", "due", "tracked", "awaiting_trigger")


@register.inclusion_tag("regulatory/_panel.html")
def regulatory_panel(incident: Incident) -> dict[str, Any]:
    now = timezone.now()
    clocks = [c for c in incident_clocks(incident, now=now) if c.state.state in ACTIVE]
    return {
        "incident": incident,
        "clocks": [{"clock": c, "countdown": countdown(c.state.seconds_left)} for c in clocks],
        "assessed": Assessment.objects.filter(incident=incident).exists(),
    }


@register.filter
def state_label(value: str) -> str:
    return value.replace("_", " ")


@register.filter
def fact_field(name: str) -> str:
    """``decisions.high_risk`` → the id of the facts form's field for it."""
    return fact_field_id(name)


DECISIVE = ("not required:", "not in force", "exempt:", "awaiting trigger:")


@register.filter
def decisive(reasons: list[str]) -> str:
    """The reason that settled an obligation's status (what the page shows first)."""
    return next((r for r in reasons if r.startswith(DECISIVE)), reasons[-1] if reasons else "")
