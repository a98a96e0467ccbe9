"""The decrypt-access page: linked from the incident and key pages of a compromised key, it opens a
``compromised_key_decrypt_access`` request through the approvals service and shows the grants in force."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from approvals import policies
from approvals.models import ApprovalRequest
from incidents.models import Incident
from keyvault.models import DecryptGrant, System
from keyvault.services import lifecycle
from keyvault.services.grants import decrypt_grant_create
from keyvault.states import KeyState
from tests.approvals.conftest import decide
from tests.incidents.conftest import cloudevent, post_signal
from tests.keyvault.conftest import SYSTEM, make_key
from webapp import roles

pytestmark = pytest.mark.django_db


@pytest.fixture
def compromised(detector):
    key, _ = make_key("local", KeyState.ACTIVE, alias="payments")
    key.systems.add(System.objects.create(name="billing-api"))
    reference = post_signal(detector, cloudevent({"id": str(key.id)})).json()["incident"]
    lifecycle.key_compromise(key_id=key.id, actor=SYSTEM, reason="confirmed", incident=reference)
    return key, Incident.objects.get(reference=reference)


def test_the_incident_and_key_pages_lead_to_it(client, people, compromised):
    key, incident = compromised
    url = reverse("decrypt-access", args=[key.id])
    client.force_login(people[roles.COMMANDER])
    live = client.get(reverse("incident-live", args=[incident.reference])).content.decode()
    assert f'href="{url}?incident={incident.reference}"' in live
    assert f'href="{url}"' in client.get(reverse("key-page", args=[key.id])).content.decode()


def test_asking_opens_the_request_and_an_approved_grant_shows_in_force(client, people, authenticators, compromised):
    key, incident = compromised
    url = reverse("decrypt-access", args=[key.id])
    commander = people[roles.COMMANDER]
    client.force_login(commander)
    page = client.get(f"{url}?incident={incident.reference}").content.decode()
    assert "No grant in force" in page
    assert f'<option value="{incident.reference}" selected>' in page
    assert '<option value="billing-api">' in page

    posted = client.post(
        url,
        {
            "justification": "read the leaked card batch to size the breach",
            "incident": incident.reference,
            "system": "billing-api",
            "purpose": "forensics",
            "valid_hours": "2",
            "operation_budget": "50",
        },
    )
    request = ApprovalRequest.objects.get(action=policies.COMPROMISED_KEY_DECRYPT_ACCESS)
    assert posted["Location"] == reverse("approval-page", args=[request.id])
    assert request.incident == incident.reference
    assert request.requested_by == commander
    details = request.payload["details"]
    assert details == {
        "key": str(key.id),
        "principal": commander.username,
        "purpose": "forensics",
        "valid_hours": 2,
        "operation_budget": 50,
        "system": "billing-api",
    }
    summary = client.get(posted["Location"]).content.decode()
    assert "may decrypt with payments on billing-api for 2 hour(s)" in summary
    assert "awaiting approval" in client.get(url).content.decode().lower()

    decide(people[roles.SECURITY_LEAD], request, authenticator=authenticators[roles.SECURITY_LEAD])
    decide(people[roles.KEY_CUSTODIAN], request, authenticator=authenticators[roles.KEY_CUSTODIAN])
    page = client.get(url).content.decode()
    assert "No grant in force" not in page
    assert "0 of 50" in page


def test_limits_and_choices_are_refused_with_a_reason(client, people, compromised):
    key, incident = compromised
    url = reverse("decrypt-access", args=[key.id])
    client.force_login(people[roles.COMMANDER])
    form = {
        "justification": "why",
        "incident": incident.reference,
        "system": "billing-api",
        "purpose": "forensics",
        "valid_hours": "999",
        "operation_budget": "5",
    }
    refused = client.post(url, form, follow=True).content.decode()
    assert "Not requested: &#x27;valid_hours&#x27; must be an integer from 1 to 24" in refused
    refused = client.post(url, {**form, "valid_hours": "2", "incident": "INC-NOPE"}, follow=True).content.decode()
    assert "Not requested: choose the incident this access is for" in refused
    assert not ApprovalRequest.objects.exists()
    # Nobody outside incident response reaches the page; a revoked or spent grant is not "in force".
    client.force_login(people[roles.AUDITOR])
    assert client.get(url).status_code == 403
    spent = decrypt_grant_create(
        key_id=key.id, principal="x", purpose="p", valid_for=timedelta(hours=1), operation_budget=1, actor=SYSTEM
    )
    DecryptGrant.objects.filter(pk=spent.pk).update(operations_used=1)
    client.force_login(people[roles.COMMANDER])
    assert "No grant in force" in client.get(url).content.decode()
