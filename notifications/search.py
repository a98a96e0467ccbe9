"""Parties on the search page: by name, with the latest incident they were told about."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Subquery
from django.urls import reverse

from notifications.models import Notification, Party
from webapp.search import SearchHit, SearchProvider, search_provider_register


def parties_search(query: str, user: Any, limit: int) -> list[SearchHit]:
    latest = Notification.objects.filter(party=OuterRef("pk")).order_by("-created_at").values("incident__reference")
    found = (
        Party.objects.filter(name__icontains=query)
        .annotate(latest_incident=Subquery(latest[:1]))
        .order_by("name")[:limit]
    )
    hits = []
    for party in found:
        incident = party.latest_incident
        hits.append(
            SearchHit(
                title=party.name,
                url=reverse("incident-notifications", args=[incident]) if incident else "",
                detail=f"{party.get_role_display()}, {party.get_kind_display().lower()}"
                + (f"; last told about {incident}" if incident else "; not told about any incident yet")
                + ("" if party.active else "; inactive"),
            )
        )
    return hits


def register() -> None:
    search_provider_register(SearchProvider("parties", "Parties", ("webapp.view_incidents",), parties_search, 30))
