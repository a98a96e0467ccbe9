"""Every list and detail answers in a number of queries that does not grow with the rows: counted at 10
rows, then at 1,000 (the scale benchmark's own bulk builders make them), the count must not change."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.scale import seed
from webapp import roles

pytestmark = pytest.mark.django_db  # so that the test database is set up for the module's fixture

SMALL, LARGE = 10, 1000
ALL_ROLES = (roles.COMMANDER, roles.SECURITY_LEAD, roles.KEY_CUSTODIAN, roles.LEGAL_DPO, roles.CISO, roles.AUDITOR)


@dataclass
class World:
    """Rows of every kind, grown in steps; ``big`` is one incident that collects keys and events."""

    reader: User
    others: list[User]
    incidents: list[Any] = field(default_factory=list)
    keys: list[Any] = field(default_factory=list)
    big: Any = None
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def grow_to(self, rows: int) -> None:
        from incidents.models import IncidentKey

        more = rows - len(self.incidents)
        tag = f"q{len(self.incidents)}"
        keys = seed.seed_keys(more, tag=tag, keys_per_kek=10, custodian=self.reader)
        incidents = seed.seed_incidents(
            more, tag=tag, keys=keys, commanders=[self.reader], open_share=0.5, rng=self.rng
        )
        seed.seed_parties_and_inbox(incidents, tag=tag, members=[self.reader])
        seed.seed_obligations(incidents)
        seed.seed_casefiles(incidents, requested_by=self.reader)
        seed.seed_approvals(
            more, incidents=incidents, requesters=self.others, approvers=self.others, pending_share=0.5, rng=self.rng
        )
        if self.big is None:
            self.big = incidents[0]
            self.big.status, self.big.step = "open", "rewrap"
            self.big.save(update_fields=["status", "step"])
        IncidentKey.objects.bulk_create(
            [IncidentKey(incident=self.big, key=k, via="cascade") for k in keys], ignore_conflicts=True
        )
        seed.seed_audit(more, incidents=[self.big], keys=keys)
        self.incidents += incidents
        self.keys += keys


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return len(captured)


LISTS: dict[str, Callable[[World], str]] = {
    # the API (cursor pages; the largest page size, so that rows multiply any per-row query)
    "api incidents": lambda w: "/api/v1/incidents/?page_size=500",
    "api incidents filtered": lambda w: (
        "/api/v1/incidents/?page_size=500&status=open&sort=-severity&opened_from=2000-01-01"
    ),
    "api incidents by key": lambda w: f"/api/v1/incidents/?page_size=500&key={w.keys[0].id}",
    "api keys": lambda w: "/api/v1/keys/?page_size=500",
    "api quarantine": lambda w: "/api/v1/keys/quarantine/?page_size=500",
    "api approvals awaiting": lambda w: "/api/v1/approvals/?page_size=500",
    "api approvals all": lambda w: "/api/v1/approvals/?scope=all&page_size=500",
    "api case files": lambda w: "/api/v1/case-files/?page_size=500",
    "api parties": lambda w: "/api/v1/parties/?page_size=500",
    # the pages (numbered pages, the largest page size)
    "page incidents": lambda w: "/incidents/?scope=all&per_page=200",
    "page keys": lambda w: "/keys/?per_page=200",
    "page quarantine": lambda w: "/keys/quarantine/?per_page=200",
    "page approvals": lambda w: "/approvals/?per_page=200",
    "page case files": lambda w: "/case-files/?per_page=200",
    "page regulatory due": lambda w: "/regulatory/due/?per_page=200",
    "page inbox": lambda w: "/notifications/inbox/?per_page=200",
    # details that hold lists (an incident's keys and timeline, a key's children and history)
    "api incident detail": lambda w: f"/api/v1/incidents/{w.big.reference}/",
    "api incident timeline": lambda w: f"/api/v1/incidents/{w.big.reference}/timeline?page_size=500",
    "page incident": lambda w: f"/incidents/{w.big.reference}/",
    "page incident live": lambda w: f"/incidents/{w.big.reference}/live",
    "page key": lambda w: f"/keys/{w.keys[0].id}/",
}


@pytest.fixture(scope="module")
def counts(django_db_setup: None, django_db_blocker: Any) -> dict[str, tuple[int, int]]:
    """Every URL's query count at SMALL rows and at LARGE rows, measured once for the module (building a
    thousand rows of every kind is the slow part), in a transaction rolled back at the end."""
    with django_db_blocker.unblock(), transaction.atomic():
        reader = User.objects.create_user("reader", password="x")
        reader.groups.add(*Group.objects.filter(name__in=ALL_ROLES))
        others = []
        for n in range(3):
            other = User.objects.create_user(f"approver{n}", password="x")
            other.groups.add(*Group.objects.filter(name__in=[roles.SECURITY_LEAD, roles.COMMANDER]))
            others.append(other)
        world = World(reader=reader, others=others)
        client = Client()
        client.force_login(reader)
        world.grow_to(SMALL)
        for url in LISTS.values():
            _queries(client, url(world))  # the first request fills per-process caches (catalogue, …)
        small = {name: _queries(client, url(world)) for name, url in LISTS.items()}
        world.grow_to(LARGE)
        large = {name: _queries(client, url(world)) for name, url in LISTS.items()}
        transaction.set_rollback(True)
    return {name: (small[name], large[name]) for name in LISTS}


@pytest.mark.parametrize("name", sorted(LISTS))
def test_query_count_does_not_grow_with_rows(counts: dict[str, tuple[int, int]], name: str) -> None:
    small, large = counts[name]
    print(f"{name}: {small} queries at {SMALL} rows, {large} at {LARGE}")  # shown with -s
    assert large == small, f"{name}: {small} queries at {SMALL} rows, {large} at {LARGE}"
