"""The incident's notifications page: per-audience previews before sending, the commander's approval."""

from __future__ import annotations

import pytest
from django.test import Client

from notifications.models import Notification
from notifications.services.messages import notifications_draft
from tests.notifications.conftest import SYSTEM
from webapp import roles

pytestmark = pytest.mark.django_db


def test_preview_then_the_commander_approves(case, commander, make_user):
    notifications_draft(reference=case.incident.reference, actor=SYSTEM)
    url = f"/notifications/incident/{case.incident.reference}/"
    lead = make_user("lead", roles.SECURITY_LEAD)
    client = Client()
    client.force_login(lead)
    page = client.get(url).content.decode()
    # Each audience has its own message: the vendor is asked to check its side, the customer told what to do.
    assert "Check your side (HSM audit logs" in page
    assert "Stop trusting cached copies" in page
    assert "[[ack-link]]" not in page
    assert "a personal, single-use acknowledgement link" in page
    assert "Approve and send" not in page  # not the commander
    assert client.post(url + "approve").status_code == 403
    assert Notification.objects.filter(incident=case.incident, status="draft").count() == 3

    client.force_login(commander)
    assert "Approve and send 3 messages" in client.get(url).content.decode()
    assert client.post(url + "approve").status_code == 302
    assert set(Notification.objects.filter(incident=case.incident).values_list("status", flat=True)) == {"approved"}
    assert client.post(url + "approve").status_code == 409  # nothing left to approve


def test_after_the_first_approval_new_parties_go_out_without_waiting(case, commander):
    from notifications.models import Channel, Party, PartyRole
    from notifications.services.messages import notifications_approve

    notifications_draft(reference=case.incident.reference, actor=SYSTEM)
    notifications_approve(reference=case.incident.reference, user=commander, actor=SYSTEM)
    late = Party.objects.create(name="Late Library", role=PartyRole.CRYPTO_LIBRARY_MAINTAINER, every_incident=True)
    Channel.objects.create(party=late, kind=Channel.Kind.EMAIL)
    (added,) = notifications_draft(reference=case.incident.reference, actor=SYSTEM)
    added.refresh_from_db()
    assert (added.party, added.status, added.audience) == (late, "approved", "upstream")


def test_the_notify_step_hook_drafts_and_says_what_waits(case):
    from incidents.services.hooks import step_hooks_run

    assert step_hooks_run(incident=case.incident, step="notify") == ["notifications"]
    from audit.models import AuditEvent

    event = AuditEvent.objects.filter(action="incident.notify_hook", incident=case.incident.reference).get()
    assert "3 notification(s) drafted" in event.reason
    assert "commander's approval" in event.reason


def test_the_case_file_section(case, commander, smtp):
    from casefile.gather import _PROVIDERS
    from notifications.services.delivery import notification_send
    from notifications.services.messages import notifications_approve

    assert _PROVIDERS["notifications"](case.incident) is None  # nothing sent: no section
    notifications_draft(reference=case.incident.reference, actor=SYSTEM)
    for n in notifications_approve(reference=case.incident.reference, user=commander, actor=SYSTEM):
        notification_send(notification_id=n.pk, purpose="initial")
    section = _PROVIDERS["notifications"](case.incident)
    assert section is not None
    assert [row[0] for row in section.rows] == ["Acme HSM", "Beta AI Customer", "Shop Apps"]
    assert section.rows[0][5] == "email, webhook"
    assert section.evidence[0]["deliveries"][0]["status"] == "sent"


def test_outside_parties_are_told_only_what_concerns_them(case):
    from notifications.models import Party

    regulator = Party.objects.create(name="DPA", role="regulator", every_incident=True)
    team = Party.objects.create(name="KMS team", kind="team", role="internal_team", every_incident=True)
    notifications_draft(reference=case.incident.reference, actor=SYSTEM)
    facts = {n.party.name: n.facts for n in Notification.objects.filter(incident=case.incident)}
    assert facts["Shop Apps"]["systems"] == ["billing-api"]  # its own system
    assert facts["Beta AI Customer"]["systems"] == []  # related by a data asset: no system names
    for outside in ("Shop Apps", "Beta AI Customer", "Acme HSM"):
        assert "record_count" not in facts[outside]
        assert "data_assets" not in facts[outside]
        assert "alias" not in facts[outside]["keys"][0]
    assert facts[regulator.name]["record_count"] == 500
    assert "systems" not in facts[regulator.name]
    assert facts[team.name]["keys"][0]["alias"] == "billing-kek"
    assert facts[team.name]["data_assets"] == ["prompt-store"]
    bodies = {n.party.name: n.body for n in Notification.objects.filter(incident=case.incident)}
    assert "billing-kek" not in bodies["Beta AI Customer"]
    assert "billing-api" not in bodies["Beta AI Customer"]
    assert "500 records" in bodies["DPA"]
