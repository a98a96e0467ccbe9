"""REST for approvals mirrors the UI: inbox, request, challenge, decide — and who may do what."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from approvals import policies
from approvals.models import ApprovalRequest
from tests.approvals.conftest import grant_payload, suspended_key
from webapp import roles

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _open(client, key, action=policies.CONFIRM_COMPROMISE):
    response = client.post(
        "/api/v1/approvals/",
        {"action": action, "payload": {"keys": [str(key.id)]}, "reason": "scanner hit", "incident": "INC-7"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def _decide_via_api(client, request_id, authenticator, decision="approve", reason=""):
    challenge = client.post(
        f"/api/v1/approvals/{request_id}/challenge", {"decision": decision, "reason": reason}, format="json"
    )
    assert challenge.status_code == 200, challenge.json()
    body = challenge.json()
    import json

    assertion = authenticator.sign(json.dumps(body["webauthn_options"]))
    return client.post(
        f"/api/v1/approvals/{request_id}/decide",
        {"challenge_id": body["challenge_id"], "webauthn": assertion},
        format="json",
    )


def test_open_inbox_decide_round_trip(people, authenticators):
    commander = client_for(people[roles.COMMANDER])
    opened = _open(commander, suspended_key())
    assert opened["status"] == "pending"
    assert opened["missing"] == ["1 of security_lead", "1 of key_custodian"]

    lead = client_for(people[roles.SECURITY_LEAD])
    inbox = lead.get("/api/v1/approvals/").json()["results"]
    assert [r["id"] for r in inbox] == [opened["id"]]
    assert client_for(people[roles.AUDITOR]).get("/api/v1/approvals/").json()["results"] == []

    detail = lead.get(f"/api/v1/approvals/{opened['id']}/").json()
    assert detail["payload"]["details"] == {"keys": [opened["subject"]["id"]]}
    assert detail["payload_canonical"].startswith('{"action":"confirm_compromise"')
    assert detail["your_roles"] == ["security_lead"]

    decided = _decide_via_api(lead, opened["id"], authenticators[roles.SECURITY_LEAD])
    assert decided.status_code == 200, decided.json()
    assert decided.json()["decisions"][0]["approver"] == "p-security_lead"
    assert lead.get("/api/v1/approvals/").json()["results"] == []  # decided: no longer awaiting

    final = _decide_via_api(client_for(people[roles.KEY_CUSTODIAN]), opened["id"], authenticators[roles.KEY_CUSTODIAN])
    assert final.json()["status"] == "approved"
    mine = commander.get("/api/v1/approvals/?scope=mine").json()["results"]
    assert mine[0]["status"] == "approved"


def test_an_auditor_or_outsider_cannot_decide(people, authenticators, make_user):
    opened = _open(client_for(people[roles.COMMANDER]), suspended_key())
    auditor = client_for(people[roles.AUDITOR])
    response = auditor.post(f"/api/v1/approvals/{opened['id']}/challenge", {"decision": "approve"}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "not_an_eligible_approver")
    outsider = client_for(make_user("nobody"))
    assert outsider.get(f"/api/v1/approvals/{opened['id']}/").status_code == 403
    assert (
        outsider.post(f"/api/v1/approvals/{opened['id']}/challenge", {"decision": "approve"}, format="json").json()[
            "code"
        ]
        == "not_an_eligible_approver"
    )


def test_a_requester_cannot_approve_their_own_request(people, authenticators):
    lead = client_for(people[roles.SECURITY_LEAD])
    opened = _open(lead, suspended_key())
    response = lead.post(f"/api/v1/approvals/{opened['id']}/challenge", {"decision": "approve"}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "separation_of_duties")


def test_decide_without_step_up_is_refused(people, authenticators):
    opened = _open(client_for(people[roles.COMMANDER]), suspended_key())
    lead = client_for(people[roles.SECURITY_LEAD])
    challenge = lead.post(f"/api/v1/approvals/{opened['id']}/challenge", {"decision": "approve"}, format="json").json()
    response = lead.post(
        f"/api/v1/approvals/{opened['id']}/decide", {"challenge_id": challenge["challenge_id"]}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (401, "step_up_required")
    bad = lead.post(
        f"/api/v1/approvals/{opened['id']}/decide",
        {"challenge_id": challenge["challenge_id"], "webauthn": {"id": "x", "response": {}}},
        format="json",
    )
    assert (bad.status_code, bad.json()["code"]) == (401, "step_up_failed")


def test_tokens_cannot_decide(people, service_token):
    opened = _open(client_for(people[roles.COMMANDER]), suspended_key())
    machine = APIClient()
    machine.credentials(HTTP_AUTHORIZATION=f"Bearer {service_token}")
    response = machine.post(f"/api/v1/approvals/{opened['id']}/challenge", {"decision": "approve"}, format="json")
    assert response.status_code == 403


def test_an_encryption_exception_for_a_service_is_asked_by_incident_response(people, service_token, compromised_key):
    machine = APIClient()
    machine.credentials(HTTP_AUTHORIZATION=f"Bearer {service_token}")
    payload = grant_payload(compromised_key, "test-detector") | {"purpose": "close-batch"}
    body = {"action": policies.ENCRYPTION_EXCEPTION, "payload": payload, "reason": "end-of-day batch"}
    # Segregation: outside incident response the compromised key does not exist, as a missing one.
    refused = machine.post("/api/v1/approvals/", body, format="json")
    missing = machine.post(
        "/api/v1/approvals/",
        body | {"payload": payload | {"key": "00000000-0000-0000-0000-000000000000"}},
        format="json",
    )
    assert (refused.status_code, refused.json()["code"]) == (missing.status_code, missing.json()["code"])
    assert refused.json()["detail"].replace(str(compromised_key.id), "?") == missing.json()["detail"].replace(
        "00000000-0000-0000-0000-000000000000", "?"
    )
    response = client_for(people[roles.COMMANDER]).post("/api/v1/approvals/", body, format="json")
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"action": "no_such_action", "payload": {}, "reason": "x"}, "unknown_action"),
        ({"action": policies.CONFIRM_COMPROMISE, "payload": {"keys": []}, "reason": "x"}, "invalid_approval_request"),
        (
            {"action": policies.CONFIRM_COMPROMISE, "payload": {"keys": ["not-a-uuid"]}, "reason": "x"},
            "invalid_approval_request",
        ),
        ({"action": policies.CONFIRM_COMPROMISE, "reason": "x"}, "invalid_input"),
    ],
)
def test_bad_requests_get_clear_codes(people, body, code):
    response = client_for(people[roles.COMMANDER]).post("/api/v1/approvals/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert not ApprovalRequest.objects.exists()


def test_pages_render(client, people, authenticators):
    opened = _open(client_for(people[roles.COMMANDER]), suspended_key())
    client.force_login(people[roles.SECURITY_LEAD])
    inbox = client.get("/approvals/").content.decode()
    assert opened["id"] in inbox
    page = client.get(f"/approvals/{opened['id']}/").content.decode()
    assert "Exactly what is approved" in page
    assert opened["payload_hash"] in page
    assert "Sign with my authenticator" in page
    assert "webauthn.js" in page
    client.force_login(people[roles.AUDITOR])
    assert "Your decision" not in client.get(f"/approvals/{opened['id']}/").content.decode()
    assert client.get("/account/security/").status_code == 200
