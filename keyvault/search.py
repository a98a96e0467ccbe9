"""Keys on the search page: by alias, purpose, name elsewhere, system, fingerprint prefix or id — only
the keys the person may know of (``keys_visible``)."""

from __future__ import annotations

import contextlib
import re
import uuid
from typing import Any

from django.db.models import Q
from django.urls import reverse

from keyvault.selectors import keys_visible
from webapp.navigation import INVENTORY_READERS
from webapp.search import SearchHit, SearchProvider, search_provider_register

HEX = re.compile(r"[0-9a-f]{8,64}")


def keys_search(query: str, user: Any, limit: int) -> list[SearchHit]:
    matches = (
        Q(alias__icontains=query)
        | Q(purpose__icontains=query)
        | Q(external_ref__icontains=query)
        | Q(systems__name__icontains=query)
    )
    if HEX.fullmatch(query.lower()):
        matches |= Q(versions__fingerprint__startswith=query.lower())
    with contextlib.suppress(ValueError):
        matches |= Q(id=uuid.UUID(query))
    found = keys_visible(user).filter(matches).distinct().order_by("alias", "-created_at")[:limit]
    return [
        SearchHit(
            title=key.alias,
            url=reverse("key-page", args=[key.id]),
            detail=f"{key.purpose} · {key.get_backend_display()}",
            badge=key.get_state_display(),
        )
        for key in found
    ]


def register() -> None:
    search_provider_register(SearchProvider("keys", "Keys", INVENTORY_READERS, keys_search, 20))
