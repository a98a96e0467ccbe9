"""The commander's actions (database first, then an update to the workflow) and the incident pages."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from incidents.models import Incident, IncidentKey
from incidents.services.hooks import step_hook_register, step_hooks_run
from ir_workflows.models import TemporalOutbox
from keyvault.states import KeyState
from tests.incidents.conftest import cloudevent, post_signal
from tests.keyvault.conftest import make_key
from webapp import roles

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(detector) -> Incident:
    key, _ = make_key("local", KeyState.ACTIVE, alias="payments")
    reference = post_signal(detector, cloudevent({"id": str(key.id)})).json()["incident"]
    return Incident.objects.get(reference=reference)


@pytest.fixture
def commander(make_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(make_user("cmdr-api", roles.COMMANDER))
    return client


def test_list_and_detail(commander, incident):
    listed = commander.get("/api/v1/incidents/?status=open").json()["results"]
    assert [i["reference"] for i in listed] == [incident.reference]
    detail = commander.get(f"/api/v1/incidents/{incident.reference}/").json()
    assert detail["keys"][0]["alias"] == "payments"
    assert detail["keys"][0]["state"] == "suspended"
    assert {e["action"] for e in detail["timeline"]} >= {"incident.opened", "signal.received", "key.suspended"}
    assert commander.get("/api/v1/incidents/INC-0000-0000/").json()["code"] == "incident_not_found"


def test_commander_actions_reach_the_workflow_through_the_outbox(commander, incident):
    other, _ = make_key("local", KeyState.ACTIVE, alias="other")
    base = f"/api/v1/incidents/{incident.reference}"
    assert commander.post(f"{base}/keys", {"keys": [str(other.id)], "reason": "same repo"}, format="json").json()[
        "added"
    ] == [str(other.id)]
    other.refresh_from_db()
    assert other.key_state is KeyState.SUSPENDED  # contained at once
    assert commander.post(f"{base}/awareness", {"aware_at": "2026-11-29T09:00:00Z"}, format="json").status_code == 200
    assert commander.post(f"{base}/severity", {"severity": "critical"}, format="json").json()["severity"] == "critical"
    assert commander.post(f"{base}/notes", {"text": "called the vendor"}, format="json").status_code == 201
    assert (
        commander.post(
            f"{base}/advance",
            {"action": "request_close", "choice": "keep_decrypt_only", "waivers": {"review": "held after closure"}},
            format="json",
        ).status_code
        == 200
    )
    updates = list(TemporalOutbox.objects.filter(kind="update").values_list("update_name", flat=True))
    assert updates == ["add_keys", "record_awareness", "change_severity", "add_note", "advance"]
    assert all(e.workflow_id == incident.workflow_id for e in TemporalOutbox.objects.filter(kind="update"))
    incident.refresh_from_db()
    assert incident.aware_at.isoformat().startswith("2026-11-29T09:00")
    assert IncidentKey.objects.filter(incident=incident, via="commander").count() == 1


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("awareness", {"aware_at": "2999-01-01T00:00:00Z"}, "invalid_incident_action"),
        ("severity", {"severity": "apocalyptic"}, "invalid_input"),
        ("advance", {"action": "request_close", "choice": "burn"}, "invalid_incident_action"),
        ("keys", {"keys": ["00000000-0000-0000-0000-000000000000"], "reason": "x"}, "invalid_incident_action"),
    ],
)
def test_bad_actions_get_clear_codes(commander, incident, path, body, code):
    response = commander.post(f"/api/v1/incidents/{incident.reference}/{path}", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_who_may_act(incident, make_user):
    auditor = APIClient()
    auditor.force_authenticate(make_user("aud-api", roles.AUDITOR))
    assert auditor.get(f"/api/v1/incidents/{incident.reference}/").status_code == 200
    assert (
        auditor.post(f"/api/v1/incidents/{incident.reference}/severity", {"severity": "low"}, format="json").status_code
        == 403
    )
    lead = APIClient()
    lead.force_authenticate(make_user("lead-api", roles.SECURITY_LEAD))
    assert (
        lead.post(f"/api/v1/incidents/{incident.reference}/notes", {"text": "seen"}, format="json").status_code == 201
    )


def test_closed_incidents_refuse_actions(commander, incident):
    Incident.objects.filter(pk=incident.pk).update(status="closed")
    response = commander.post(f"/api/v1/incidents/{incident.reference}/notes", {"text": "late"}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "incident_closed")


def test_hooks_run_what_is_registered_and_say_so_when_nothing_is(incident, monkeypatch):
    from incidents.services import hooks

    monkeypatch.setattr(hooks, "_HOOKS", {"notify": [], "regulatory": []})  # this test's registrations only
    assert step_hooks_run(incident=incident, step="regulatory") == []
    event = AuditEvent.objects.get(action="incident.regulatory_hook")
    assert "no regulatory handler" in event.reason
    step_hook_register("notify", "test-notifier", lambda i: f"told someone about {i.reference}")
    assert step_hooks_run(incident=incident, step="notify") == ["test-notifier"]
    assert AuditEvent.objects.get(action="incident.notify_hook").data == {"hook": "test-notifier"}


def test_pages(client, make_user, incident):
    client.force_login(make_user("cmdr-ui", roles.COMMANDER))
    assert incident.reference in client.get("/incidents/").content.decode()
    page = client.get(f"/incidents/{incident.reference}/").content.decode()
    assert "Playbook steps" in page
    assert "payments" in page
    assert "data-live-url" in page
    live = client.get(f"/incidents/{incident.reference}/live").content.decode()
    assert "Timeline" in live
    response = client.post(f"/incidents/{incident.reference}/note", {"text": "from the page"})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="incident.note", reason="from the page").exists()
    assert client.get("/incidents/report/").status_code == 200


def test_manual_report_contains_at_once(client, make_user):
    key, _ = make_key("local", KeyState.ACTIVE, alias="reported")
    client.force_login(make_user("cmdr-report", roles.COMMANDER))
    response = client.post(
        "/incidents/report/", {"title": "laptop stolen", "keys": [str(key.id)], "severity": "critical"}
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.key_state is KeyState.SUSPENDED
    incident = Incident.objects.get()
    assert incident.commander is not None
    assert (incident.title, incident.severity, incident.commander.username) == (
        "laptop stolen",
        "critical",
        "cmdr-report",
    )
