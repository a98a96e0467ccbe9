"""One search page across what upper apps register (``search_provider_register``): incidents, keys,
parties. Each provider is asked only when the person holds one of its capabilities, and itself
returns only what that person may see (segregated keys stay hidden outside incident response)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SEARCH_ROWS = 20
QUERY_MIN, QUERY_MAX = 2, 200


@dataclass(frozen=True, slots=True)
class SearchHit:
    title: str
    url: str
    detail: str = ""
    badge: str = ""


# query, user, limit → hits (at most ``limit``)
Search = Callable[[str, Any, int], list[SearchHit]]


@dataclass(frozen=True, slots=True)
class SearchProvider:
    name: str
    title: str
    permissions: tuple[str, ...]  # any of these; the provider filters rows further
    search: Search
    order: int = 100


@dataclass(frozen=True, slots=True)
class SearchResults:
    title: str
    hits: list[SearchHit]
    more: bool  # more than shown: refine the query


_PROVIDERS: dict[str, SearchProvider] = {}


def search_provider_register(provider: SearchProvider) -> None:
    _PROVIDERS[provider.name] = provider


def search_visible(user: Any) -> bool:
    """Whether the person may search anything at all (the navigation shows the page then)."""
    return any(user.has_perm(p) for provider in _PROVIDERS.values() for p in provider.permissions)


def search_permissions() -> tuple[str, ...]:
    return tuple(sorted({p for provider in _PROVIDERS.values() for p in provider.permissions}))


def search_normalise(query: str) -> str:
    """The query as searched: trimmed; "" when too short to search, cut at ``QUERY_MAX``."""
    query = " ".join(query.split())[:QUERY_MAX]
    return query if len(query) >= QUERY_MIN else ""


def search_all(query: str, user: Any, *, limit: int = SEARCH_ROWS) -> list[SearchResults]:
    """Every provider this person may ask, in order, with at most ``limit`` hits each."""
    results = []
    for provider in sorted(_PROVIDERS.values(), key=lambda p: (p.order, p.name)):
        if not any(user.has_perm(p) for p in provider.permissions):
            continue
        hits = provider.search(query, user, limit + 1)
        results.append(SearchResults(provider.title, hits[:limit], len(hits) > limit))
    return results
