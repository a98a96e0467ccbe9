"""The regulatory API: stateless assessment, assessments, obligations, sign-off and filing, permissions."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from rest_framework.test import APIClient

from approvals.models import ApprovalRequest
from tests.approvals.conftest import decide
from tests.regulatory.conftest import hipaa_facts
from webapp import roles


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_stateless_assess_matches_the_cli_contract(make_user):
    client = api(make_user("aud", roles.AUDITOR))
    facts = {"deadline_tz": "America/New_York", "entity": {"sec_registrant": True}}
    facts["events"] = {"materiality_determined_at": "2026-06-29T14:00:00Z"}
    response = client.post("/api/v1/regulatory/assess", facts, format="json")
    assert response.status_code == 200
    sec = next(o for o in response.json()["obligations"] if o["id"] == "US-SEC-8K-105")
    assert sec["due_utc"] == "2026-07-06T21:30:00Z"
    bad = client.post("/api/v1/regulatory/assess", {"deadline_tz": "UTC", "events": {"x": 1}}, format="json")
    assert bad.status_code == 400
    assert "facts_unknown_event" in json.dumps(bad.json())


def test_assess_sign_off_and_file_over_the_api(incident, people, authenticators):
    legal = api(people["legal_dpo"])
    facts = hipaa_facts(incident)
    facts["events"]["discovered_at"] = "2026-01-15T15:00:00Z"
    created = legal.post(
        f"/api/v1/incidents/{incident.reference}/assessments", {"facts": facts, "note": "api"}, format="json"
    )
    assert created.status_code == 201, created.json()
    assert created.json()["version"] == 1
    obligations = legal.get(f"/api/v1/incidents/{incident.reference}/obligations").json()["results"]
    hipaa = next(o for o in obligations if o["id"] == "US-HIPAA-404")
    assert (hipaa["state"], hipaa["due_utc"]) == ("overdue", "2026-03-17T03:59:59Z")
    commander = api(people["commander"])
    asked = commander.post(
        f"/api/v1/incidents/{incident.reference}/obligations/US-HIPAA-404/signoff", {"reason": "ready"}, format="json"
    )
    assert asked.status_code == 201
    request = ApprovalRequest.objects.get(id=asked.json()["approval"])
    decide(people["legal_dpo"], request, authenticator=authenticators["legal_dpo"])
    filing = {
        "filed_at": datetime(2026, 3, 16, 12, 0, tzinfo=UTC).isoformat(),
        "channel": "first-class mail",
        "reference": "batch-1",
        "attachments": [{"name": "letter.pdf", "sha256": "ab" * 32}],
    }
    assert (
        commander.post(
            f"/api/v1/incidents/{incident.reference}/obligations/US-HIPAA-404/filings", filing, format="json"
        ).status_code
        == 403
    )  # filing is legal's
    filed = legal.post(
        f"/api/v1/incidents/{incident.reference}/obligations/US-HIPAA-404/filings", filing, format="json"
    )
    assert filed.status_code == 201, filed.json()
    assert filed.json()["on_time"] is True
    obligations = legal.get(f"/api/v1/incidents/{incident.reference}/obligations").json()["results"]
    assert next(o for o in obligations if o["id"] == "US-HIPAA-404")["state"] == "filed_on_time"


def test_an_auditor_reads_but_does_not_assess(incident, make_user):
    auditor = api(make_user("aud", roles.AUDITOR))
    assert auditor.get(f"/api/v1/incidents/{incident.reference}/assessments/prefill").status_code == 200
    denied = auditor.post(
        f"/api/v1/incidents/{incident.reference}/assessments", {"facts": {"deadline_tz": "UTC"}}, format="json"
    )
    assert denied.status_code == 403
    outsider = api(make_user("nobody"))
    assert outsider.get(f"/api/v1/incidents/{incident.reference}/obligations").status_code == 403


def test_profile_over_the_api(client, make_user, django_user_model):
    from regulatory.models import OrganisationProfile

    legal = make_user("legal", roles.LEGAL_DPO)
    client.force_login(legal)
    assert client.get("/api/v1/regulatory/profile").json()["version"] is None
    body = {"entities": [{"id": "acme", "name": "Acme", "roles": ["controller"]}], "deadline_tz": "Europe/Paris"}
    assert client.post("/api/v1/regulatory/profile", body, content_type="application/json").status_code == 403
    admin = django_user_model.objects.create_superuser("root", password="x")
    client.force_login(admin)
    bad = client.post(
        "/api/v1/regulatory/profile",
        {**body, "entities": [{"id": "acme", "name": "Acme", "nis2": "huge"}]},
        content_type="application/json",
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "facts_invalid")
    created = client.post("/api/v1/regulatory/profile", body, content_type="application/json")
    assert created.status_code == 201
    assert created.json()["version"] == 1
    assert OrganisationProfile.objects.get().recorded_by == "root"
