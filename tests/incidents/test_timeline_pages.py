"""The incident's timeline is paginated: the page and the API show the newest events and lead to every
older one (nothing cut), and the incident lists filter and page through every incident."""

from __future__ import annotations

import re

import pytest

from bench.scale import seed

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident_with_events(commander):
    keys = seed.seed_keys(3, tag="tl")
    incident = seed.seed_incidents(1, tag="tl", keys=keys, commanders=[commander], open_share=1.0)[0]
    seed.seed_audit(120, incidents=[incident], keys=keys)
    return incident


def _seqs(html: str) -> list[int]:
    timeline = html.split("<h2>Timeline</h2>", 1)[1].split("</table>", 1)[0]
    return [int(s) for s in re.findall(r"<tr><td>(\d+)</td>", timeline)]


def test_the_page_walks_the_whole_timeline(client, commander, incident_with_events):
    client.force_login(commander)
    url = f"/incidents/{incident_with_events.reference}/"
    seen: list[int] = []
    query = ""
    for _ in range(5):
        html = client.get(url + query).content.decode()
        seen += _seqs(html)
        older = re.search(r'href="\?timeline_before=(\d+)">Older events', html)
        if older is None:
            break
        query = f"?timeline_before={older.group(1)}"
    assert len(seen) == 120
    assert seen == sorted(seen, reverse=True)
    assert len(set(seen)) == 120


def test_the_api_pages_through_the_timeline(client, commander, incident_with_events):
    client.force_login(commander)
    detail = client.get(f"/api/v1/incidents/{incident_with_events.reference}/").json()
    assert len(detail["timeline"]) == 50
    assert detail["timeline_older_than"] == detail["timeline"][-1]["seq"]
    url: str | None = f"/api/v1/incidents/{incident_with_events.reference}/timeline?page_size=40"
    seqs: list[int] = []
    while url:
        body = client.get(url).json()
        seqs += [e["seq"] for e in body["results"]]
        url = body["next"]
    assert len(seqs) == 120
    assert seqs == sorted(seqs, reverse=True)


def test_the_incident_api_filters_sorts_and_pages(client, commander):
    keys = seed.seed_keys(20, tag="lst", keys_per_kek=10)
    incidents = seed.seed_incidents(130, tag="lst", keys=keys, commanders=[commander], open_share=0.3)
    client.force_login(commander)
    url: str | None = "/api/v1/incidents/?page_size=50"
    references: list[str] = []
    while url:
        body = client.get(url).json()
        references += [i["reference"] for i in body["results"]]
        url = body["next"]
    assert sorted(references) == sorted(i.reference for i in incidents)  # every one, none twice

    open_ones = client.get("/api/v1/incidents/?status=open&page_size=500").json()["results"]
    assert {i["reference"] for i in open_ones} == {i.reference for i in incidents if i.status == "open"}
    by_key = client.get(f"/api/v1/incidents/?key={keys[5].alias}&page_size=500").json()["results"]
    assert {i["reference"] for i in by_key} == {
        i.reference for i in incidents if i.incident_keys.filter(key=keys[5]).exists()
    }
    ranks = {"low": 0, "medium": 1, "high": 2, "critical": 3}
    severe = client.get("/api/v1/incidents/?sort=-severity&page_size=500").json()["results"]
    assert [ranks[i["severity"]] for i in severe] == sorted((ranks[i["severity"]] for i in severe), reverse=True)

    bad = client.get("/api/v1/incidents/?status=maybe")
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_filter"


def test_the_incident_page_pages_through_every_incident(client, commander):
    keys = seed.seed_keys(5, tag="pg")
    incidents = seed.seed_incidents(75, tag="pg", keys=keys, commanders=[commander])
    client.force_login(commander)
    first = client.get("/incidents/?scope=all").content.decode()
    second = client.get("/incidents/?scope=all&page=2").content.decode()
    shown = re.findall(r">(INC-pg-\d+)</a>", first) + re.findall(r">(INC-pg-\d+)</a>", second)
    assert sorted(shown) == sorted(i.reference for i in incidents)
    assert "1\N{EN DASH}50 of 75" in first
    assert 'rel="next" href="?scope=all&amp;page=2"' in first
