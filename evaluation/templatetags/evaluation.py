"""``{% evaluation_panel incident user %}``: the incident page's evaluation panel (response times against
targets, the review, the playbook version in force), without the incidents app knowing us."""

from __future__ import annotations

from typing import Any

from django import template

from evaluation.services import reviews
from incidents.models import Incident

register = template.Library()


@register.inclusion_tag("evaluation/_panel.html")
def evaluation_panel(incident: Incident, user: Any) -> dict[str, Any]:
    review = reviews.review_of(incident)
    return {
        "incident": incident,
        "review_state": reviews.review_state(review),
        "review": review,
    }
