"""``{% evaluation_panel incident user %}``: the incident page's evaluation panel (response times against
targets, the review, the playbook version in force), without the incidents app knowing us."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from evaluation.services import metrics, playbook, reviews
from incidents.models import Incident

register = template.Library()


@register.inclusion_tag("evaluation/_panel.html")
def evaluation_panel(incident: Incident, user: Any) -> dict[str, Any]:
    review = reviews.review_of(incident)
    measured = metrics.incident_metrics(incident, now=timezone.now())
    return {
        "incident": incident,
        "review_state": reviews.review_state(review),
        "review": review,
        "metrics": measured,
        "in_force": playbook.playbook_in_force(incident.opened_at),
    }
