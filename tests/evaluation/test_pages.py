"""The evaluation pages as people use them (Django's test client, signed in)."""

from __future__ import annotations

import pytest
from django.test import Client

from evaluation.services import reviews
from incidents.models import Incident
from webapp import roles

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_review_page_writes_the_review_and_adds_actions(incident, people):
    commander = _client(people[roles.COMMANDER])
    url = f"/reviews/{incident.reference}/"
    page = commander.get(url)
    assert page.status_code == 200
    assert b"signal.received" in page.content  # the generated timeline
    commander.post(url + "text", {"went_well": "fast", "went_badly": "slow ack", "root_cause": "leak in CI"})
    owner = people[roles.KEY_CUSTODIAN]
    commander.post(url + "action", {"description": "rotate CI secrets", "owner": owner.pk, "due_on": "2027-02-01"})
    review = reviews.review_of(incident)
    assert review is not None
    assert review.root_cause == "leak in CI"
    assert [a.owner for a in review.actions.all()] == [owner]
    _client(owner).post(url + "done", {"action": review.actions.get().pk, "note": "rotated"})
    assert review.actions.get().done_at is not None
    assert _client(people[roles.AUDITOR]).post(url + "text", {"went_well": "x"}).status_code == 403


def test_the_incident_page_lists_what_is_open_before_closing(incident, people):
    Incident.objects.filter(pk=incident.pk).update(step="close")
    commander = _client(people[roles.COMMANDER])
    page = commander.get(f"/incidents/{incident.reference}/").content.decode()
    assert "post-incident review missing" in page
    assert 'name="waiver_review"' in page
    response = commander.post(f"/incidents/{incident.reference}/request_close", {"choice": "keep_decrypt_only"})
    assert response.status_code == 302
    assert Incident.objects.get(pk=incident.pk).closure_request == {}  # refused: nothing waived
    commander.post(
        f"/incidents/{incident.reference}/request_close",
        {"choice": "keep_decrypt_only", "waiver_review": "reviewed together with INC-7"},
    )
    assert Incident.objects.get(pk=incident.pk).closure_request["waivers"] == {"review": "reviewed together with INC-7"}
