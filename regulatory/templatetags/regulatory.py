"""``{% regulatory_panel incident %}``: the incident page's clocks, without the incidents app knowing us."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from incidents.models import Incident
from regulatory.presenters import countdown
from regulatory.selectors import incident_clocks

register = template.Library()

ACTIVE = ("overdue", "at_risk", "due", "tracked", "awaiting_trigger")


@register.inclusion_tag("regulatory/_panel.html")
def regulatory_panel(incident: Incident) -> dict[str, Any]:
    now = timezone.now()
    clocks = [c for c in incident_clocks(incident, now=now) if c.state.state in ACTIVE]
    return {
        "incident": incident,
        "clocks": [{"clock": c, "countdown": countdown(c.state.seconds_left)} for c in clocks],
    }


@register.filter
def state_label(value: str) -> str:
    return value.replace("_", " ")
