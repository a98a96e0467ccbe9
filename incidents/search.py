"""Incidents on the search page: by reference, title, a key's alias, or a detector's event id."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.urls import reverse

from incidents.models import Incident
from webapp.search import SearchHit, SearchProvider, search_provider_register


def incidents_search(query: str, user: Any, limit: int) -> list[SearchHit]:
    matches = (
        Q(reference__icontains=query)
        | Q(title__icontains=query)
        | Q(incident_keys__key__alias__iexact=query)
        | Q(signals__event_id=query)
    )
    found = Incident.objects.filter(matches).distinct().order_by("-opened_at")[:limit]
    return [
        SearchHit(
            title=f"{i.reference}: {i.title}",
            url=reverse("incident-page", args=[i.reference]),
            detail=f"{i.get_status_display().lower()}, {i.get_severity_display().lower()}, step {i.get_step_display()}",
            badge="exercise" if i.exercise else "",
        )
        for i in found
    ]


def register() -> None:
    search_provider_register(SearchProvider("incidents", "Incidents", ("webapp.view_incidents",), incidents_search, 10))
