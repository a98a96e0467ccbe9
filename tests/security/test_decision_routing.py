"""Hole 12 (one item): a decision posted to another request's URL was committed, then reported as 404.

Wanted: the service checks that the challenge belongs to the addressed request first, and commits
nothing when it does not.
"""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from approvals import policies
from approvals.models import Decision, DecisionChallenge
from tests.approvals.conftest import open_request, suspended_key
from webapp import roles

pytestmark = pytest.mark.django_db


def test_a_decision_posted_to_another_requests_url_commits_nothing(people, authenticators):
    lead = people[roles.SECURITY_LEAD]
    target = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key().id)]})
    decoy = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key("b").id)]})
    client = APIClient()
    client.force_authenticate(lead)
    challenge = client.post(f"/api/v1/approvals/{target.id}/challenge", {"decision": "approve"}, format="json").json()
    assertion = authenticators[roles.SECURITY_LEAD].sign(json.dumps(challenge["webauthn_options"]))
    body = {"challenge_id": challenge["challenge_id"], "webauthn": assertion}

    misrouted = client.post(f"/api/v1/approvals/{decoy.id}/decide", body, format="json")
    assert misrouted.status_code == 404
    assert not Decision.objects.exists(), "the decision was committed before the 404"
    assert DecisionChallenge.objects.get(id=challenge["challenge_id"]).consumed_at is None

    # The same signed decision, at its own request's URL, still counts.
    routed = client.post(f"/api/v1/approvals/{target.id}/decide", body, format="json")
    assert routed.status_code == 200, routed.json()
    assert Decision.objects.get().request_id == target.id
