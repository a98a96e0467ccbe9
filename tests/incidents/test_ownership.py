"""Who commands an incident: a detector's incident goes to the on-call commander or the queue (and they
are mailed), commanders take or assign incidents (audited on the chain), the page, list and API show it."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from audit.models import AuditEvent
from incidents.errors import NotAllowedToAssign
from incidents.models import Incident, Severity
from incidents.services import ownership
from incidents.services.incidents import incident_get
from keyvault.states import KeyState
from tests.incidents.conftest import cloudevent, post_signal
from tests.keyvault.conftest import make_key
from webapp import roles

pytestmark = pytest.mark.django_db


@pytest.fixture
def mails(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox.clear()
    return mail.outbox


@pytest.fixture
def queued(monkeypatch):
    """The ownership notices queued after commit (what Celery would then run)."""
    from incidents import tasks

    calls: list[tuple[str, str, str]] = []
    monkeypatch.setattr(tasks.notify_ownership, "delay", lambda *args: calls.append(args))
    return calls


def _people(make_user):
    on_call = make_user("oncall", roles.COMMANDER)
    other = make_user("other-cmdr", roles.COMMANDER)
    lead = make_user("lead", roles.SECURITY_LEAD)
    for user in (on_call, other, lead):
        user.email = f"{user.username}@example.test"
        user.save()
    return on_call, other, lead


def _detector_incident(detector, django_capture_on_commit_callbacks, alias="payments") -> Incident:
    make_key("local", KeyState.ACTIVE, alias=alias)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_signal(detector, cloudevent({"alias": alias}))
    assert response.status_code == 202, response.json()
    return Incident.objects.select_related("commander").get(reference=response.json()["incident"])


def _assignments(reference: str) -> list[dict[str, str | None]]:
    return list(
        AuditEvent.objects.filter(action="incident.commander_assigned", incident=reference)
        .order_by("seq")
        .values_list("data", flat=True)
    )


def test_a_detectors_incident_goes_to_the_on_call_commander_who_is_mailed(
    detector, make_user, settings, mails, queued, django_capture_on_commit_callbacks
):
    on_call, _other, _lead = _people(make_user)
    settings.SEQUESTER_ONCALL_COMMANDER = "oncall"
    incident = _detector_incident(detector, django_capture_on_commit_callbacks)
    assert incident.commander == on_call
    assert _assignments(incident.reference) == [{"from": None, "to": "oncall", "via": "oncall"}]
    assert queued == [(incident.reference, "yours", "")]
    assert ownership.ownership_notice_send(reference=incident.reference, notice="yours") == 1
    assert mails[0].to == ["oncall@example.test"]
    assert mails[0].subject == f"[Sequester] {incident.reference} is yours to command"
    assert f"/incidents/{incident.reference}/" in mails[0].body


def test_with_nobody_on_call_it_waits_in_the_queue_whose_commanders_are_mailed(
    detector, make_user, settings, mails, queued, django_capture_on_commit_callbacks
):
    _people(make_user)
    settings.SEQUESTER_ONCALL_COMMANDER = ""
    incident = _detector_incident(detector, django_capture_on_commit_callbacks)
    assert incident.commander is None
    (event,) = AuditEvent.objects.filter(action="incident.commander_assigned", incident=incident.reference)
    assert event.data == {"from": None, "to": None, "via": "queued"}
    assert "no on-call commander is configured" in event.reason
    assert queued == [(incident.reference, "queued", "")]
    ownership.ownership_notice_send(reference=incident.reference, notice="queued")
    # The queue's people who may command; the security lead is not in the commander group.
    assert sorted(m.to[0] for m in mails) == ["oncall@example.test", "other-cmdr@example.test"]
    assert "waits for a commander" in mails[0].subject
    # Once someone took it, a late queue notice is not sent.
    mails.clear()
    ownership.incident_assign_commander(
        reference=incident.reference,
        commander="other-cmdr",
        by=_by("other-cmdr"),
        actor=_actor("other-cmdr"),
    )
    assert ownership.ownership_notice_send(reference=incident.reference, notice="queued") == 0


def test_an_on_call_name_that_cannot_command_queues_the_incident_and_says_why(
    detector, make_user, settings, queued, django_capture_on_commit_callbacks
):
    _people(make_user)
    settings.SEQUESTER_ONCALL_COMMANDER = "lead"  # a security lead: no command_incidents
    incident = _detector_incident(detector, django_capture_on_commit_callbacks)
    assert incident.commander is None
    (event,) = AuditEvent.objects.filter(action="incident.commander_assigned", incident=incident.reference)
    assert "'lead' may not command incidents" in event.reason


def test_a_configurable_queue_group(detector, make_user, settings, mails, django_capture_on_commit_callbacks):
    from django.contrib.auth.models import Group

    _on_call, other, _lead = _people(make_user)
    night = Group.objects.create(name="night-shift")
    other.groups.add(night)
    settings.SEQUESTER_ONCALL_QUEUE = "night-shift"
    incident = _detector_incident(detector, django_capture_on_commit_callbacks)
    ownership.ownership_notice_send(reference=incident.reference, notice="queued")
    assert [m.to for m in mails] == [["other-cmdr@example.test"]]


def test_who_reports_it_in_the_ui_commands_it(client, make_user, settings):
    settings.SEQUESTER_ONCALL_COMMANDER = "oncall"
    _on_call, other, _lead = _people(make_user)
    key, _ = make_key("local", KeyState.ACTIVE, alias="reported")
    client.force_login(other)
    response = client.post(reverse("incident-report"), {"keys": [str(key.id)], "title": "seen in a log"})
    incident = Incident.objects.get(title="seen in a log")
    assert response.status_code == 302
    assert incident.commander == other
    assert _assignments(incident.reference) == []  # said in incident.opened
    opened = AuditEvent.objects.get(action="incident.opened", incident=incident.reference)
    assert opened.data["commander"] == "other-cmdr"


def _by(username: str):
    from django.contrib.auth.models import User

    return User.objects.get(username=username)


def _actor(username: str):
    from audit.actors import Actor

    return Actor(name=username, type="user")


def test_a_commander_takes_then_hands_over_audited_and_both_told(
    client, detector, make_user, settings, queued, django_capture_on_commit_callbacks, mails
):
    on_call, other, _lead = _people(make_user)
    settings.SEQUESTER_ONCALL_COMMANDER = ""
    incident = _detector_incident(detector, django_capture_on_commit_callbacks)
    queued.clear()
    client.force_login(other)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("incident-assign", args=[incident.reference]))
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert f"{incident.reference} is now commanded by you." in page
    assert "other-cmdr (you)" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("incident-assign", args=[incident.reference]), {"commander": "oncall", "reason": "shift"})
    incident.refresh_from_db()
    assert incident.commander == on_call
    assert _assignments(incident.reference)[1:] == [
        {"from": None, "to": "other-cmdr", "via": "taken"},
        {"from": "other-cmdr", "to": "oncall", "via": "assigned"},
    ]
    last = AuditEvent.objects.filter(action="incident.commander_assigned").order_by("-seq")[0]
    assert (last.actor, last.reason) == ("other-cmdr", "shift")
    # Taking it tells nobody (you know); giving it tells the new commander and the previous one.
    assert queued == [(incident.reference, "yours", ""), (incident.reference, "handed_over", "other-cmdr")]
    ownership.ownership_notice_send(reference=incident.reference, notice="handed_over", username="other-cmdr")
    assert mails[0].to == ["other-cmdr@example.test"]
    assert mails[0].subject == f"[Sequester] {incident.reference} is now commanded by oncall"


def test_assigning_is_refused_to_non_commanders_and_to_a_non_commander(client, make_user, detector, api_client):
    on_call, other, lead = _people(make_user)
    key, _ = make_key("local", KeyState.ACTIVE, alias="k1")
    client.force_login(other)
    client.post(reverse("incident-report"), {"keys": [str(key.id)], "title": "t"})
    incident = Incident.objects.get(title="t")
    # The security lead is not a commander: refused at the door and by the service.
    client.force_login(lead)
    assert client.post(reverse("incident-assign", args=[incident.reference])).status_code == 403
    with pytest.raises(NotAllowedToAssign):
        ownership.incident_assign_commander(reference=incident.reference, commander="lead", by=lead, actor=_actor("x"))
    # Nobody becomes commander without the role.
    api_client.force_authenticate(other)
    response = api_client.post(
        f"/api/v1/incidents/{incident.reference}/commander", {"commander": "lead"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "commander_not_eligible")
    response = api_client.post(
        f"/api/v1/incidents/{incident.reference}/commander", {"commander": "oncall"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["commander"] == "oncall"
    # A closed incident keeps its commander on the record.
    Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.CLOSED)
    response = api_client.post(
        f"/api/v1/incidents/{incident.reference}/commander", {"commander": "other-cmdr"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "incident_closed")
    assert incident_get(incident.reference).commander == on_call


def test_pages_show_the_commander_and_the_queue(client, make_user, settings):
    _on_call, other, _lead = _people(make_user)
    mine = Incident.objects.create(reference="INC-2026-0901", title="mine", commander=other, workflow_id="w1")
    waiting = Incident.objects.create(reference="INC-2026-0902", title="waiting", workflow_id="w2")
    client.force_login(other)
    assert "other-cmdr (you)" in client.get(reverse("incident-page", args=[mine.reference])).content.decode()
    page = client.get(reverse("incident-page", args=[waiting.reference])).content.decode()
    assert "nobody yet: waiting in the queue" in page
    assert f"Take command of {waiting.reference}" in page
    listed = client.get(reverse("incidents-list") + "?scope=unassigned").content.decode()
    assert waiting.reference in listed
    assert mine.reference not in listed
    assert "waiting for a commander" in listed
    assert mine.reference in client.get(reverse("incidents-list") + "?scope=mine").content.decode()


def test_needs_attention_lists_critical_and_stalled_incidents_only(client, make_user):
    _on_call, other, _lead = _people(make_user)
    Incident.objects.create(reference="INC-2026-0911", title="calm", workflow_id="a")
    Incident.objects.create(reference="INC-2026-0912", title="hot", severity=Severity.CRITICAL, workflow_id="b")
    Incident.objects.create(reference="INC-2026-0913", title="stuck", attention="rewrap stalled", workflow_id="c")
    Incident.objects.create(
        reference="INC-2026-0914", title="old", severity=Severity.CRITICAL, status="closed", workflow_id="d"
    )
    client.force_login(other)
    listed = client.get(reverse("incidents-list") + "?scope=attention").content.decode()
    assert "INC-2026-0912" in listed
    assert "INC-2026-0913" in listed
    assert "INC-2026-0911" not in listed
    assert "INC-2026-0914" not in listed


def test_the_api_lists_who_commands_and_what_waits_for_a_commander(api_client, make_user):
    _on_call, other, _lead = _people(make_user)
    Incident.objects.create(reference="INC-2026-0921", title="mine", commander=other, workflow_id="e")
    Incident.objects.create(reference="INC-2026-0922", title="waiting", workflow_id="f")
    api_client.force_authenticate(other)
    listed = api_client.get("/api/v1/incidents/").json()["results"]
    assert {(i["reference"], i["commander"]) for i in listed} == {
        ("INC-2026-0921", "other-cmdr"),
        ("INC-2026-0922", None),
    }
    waiting = api_client.get("/api/v1/incidents/?unassigned=1").json()["results"]
    assert [i["reference"] for i in waiting] == ["INC-2026-0922"]


def test_an_alert_on_an_incident_nobody_commands_goes_to_the_queue(make_user, settings, mails):
    from django.contrib.auth.models import Group

    from incidents.services.playbook import incident_attention

    _on_call, other, _lead = _people(make_user)
    Group.objects.create(name="night-shift").user_set.add(other)
    settings.SEQUESTER_ONCALL_QUEUE = "night-shift"
    incident = Incident.objects.create(reference="INC-2026-0931", title="hot", workflow_id="g")
    assert incident_attention(reference=incident.reference, message="critical incident opened") == 1
    assert [m.to for m in mails] == [["other-cmdr@example.test"]]
    assert mails[0].subject == "[Sequester] INC-2026-0931 needs you"
