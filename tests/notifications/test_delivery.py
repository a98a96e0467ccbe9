"""Issue 7's scenario through the services the workflow's activities call, over a real SMTP server and a
real webhook receiver: three parties notified by email and webhook; one acknowledges, one needs a
reminder, one is escalated. Webhooks are checked with an independent Standard Webhooks verifier."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from ir_workflows.models import TemporalOutbox
from ir_workflows.notifications.types import NOTIFICATION_ACKED_UPDATE, NOTIFICATION_WORKFLOW
from notifications.models import Delivery, Notification
from notifications.services.delivery import SendRetry, notification_escalate, notification_remind, notification_send
from notifications.services.messages import notifications_approve, notifications_draft
from tests.notifications.conftest import SYSTEM, standard_webhooks_verify

pytestmark = pytest.mark.django_db

ACK_LINK = re.compile(r"http://localhost:8000/notifications/ack/#([A-Za-z0-9_-]+)")


def _approved(case, commander):
    notifications_draft(reference=case.incident.reference, actor=SYSTEM)
    return {
        n.party.name: n for n in notifications_approve(reference=case.incident.reference, user=commander, actor=SYSTEM)
    }


def _ack_token(mail) -> str:
    match = ACK_LINK.search(mail.get_payload())
    assert match is not None
    return match.group(1)


def _mail_to(smtp, address):
    return [message for tos, message in smtp.messages if address in tos]


def _hooks_for(receiver, secret, notification):
    mine = [r for r in receiver.received if json.loads(r.body)["data"]["notification"] == notification.idempotency_key]
    return [standard_webhooks_verify(secret, r.headers, r.body) for r in mine]


def test_three_parties_one_acks_one_is_reminded_one_is_escalated(case, commander, smtp, webhook_receiver):
    notes = _approved(case, commander)
    assert set(notes) == {"Acme HSM", "Shop Apps", "Beta AI Customer"}  # not the bystander
    starts = TemporalOutbox.objects.filter(workflow_type=NOTIFICATION_WORKFLOW)
    assert starts.count() == 3

    for n in notes.values():
        notification_send(notification_id=n.pk, purpose="initial")

    vendor, app, customer = notes["Acme HSM"], notes["Shop Apps"], notes["Beta AI Customer"]
    # Email to each party's contacts; webhooks signed per the spec with each party's own secret.
    assert smtp.recipients == {"security@acme-hsm.test", "ops@shopapps.test", "ciso@beta-ai.test"}
    vendor_hooks = _hooks_for(webhook_receiver, case.secrets["Acme HSM"], vendor)
    assert len(vendor_hooks) == 1
    assert vendor_hooks[0]["type"] == "key_status.initial"
    assert vendor_hooks[0]["data"]["keys"][0]["state"] == "suspended"
    assert "alias" not in vendor_hooks[0]["data"]["keys"][0]  # internal names stay inside
    with pytest.raises(Exception, match="no matching signature"):  # the other party's secret does not verify
        _hooks_for(webhook_receiver, case.secrets["Beta AI Customer"], vendor)

    # The vendor acknowledges through the link in its email, without logging in.
    (mail,) = _mail_to(smtp, "security@acme-hsm.test")
    token = _ack_token(mail)  # after "#": a browser never sends it, so no access log holds it
    client = Client()
    assert client.get("/notifications/ack/").status_code == 200
    response = client.post("/notifications/ack/", {"token": token, "name": "Dana at Acme"})
    assert response.status_code == 200
    vendor.refresh_from_db()
    assert vendor.status == Notification.Status.ACKNOWLEDGED
    assert vendor.acked_by == "Dana at Acme (Acme HSM)"
    assert vendor.acked_at is not None
    assert TemporalOutbox.objects.filter(update_name=NOTIFICATION_ACKED_UPDATE, workflow_id=vendor.workflow_id).exists()

    # The SLA passes: the workflow asks for reminders. The acknowledged vendor gets none.
    smtp.messages.clear()
    assert notification_remind(notification_id=vendor.pk, sequence=1).acknowledged
    notification_remind(notification_id=app.pk, sequence=1)
    notification_remind(notification_id=customer.pk, sequence=1)
    assert smtp.recipients == {"ops@shopapps.test", "ciso@beta-ai.test"}
    (reminder,) = _mail_to(smtp, "ops@shopapps.test")
    assert reminder["Subject"].startswith("Reminder: ")
    # The app provider acknowledges the reminder's (fresh) link.
    token = _ack_token(reminder)
    assert Client().post("/notifications/ack/", {"token": token, "name": "ops on call"}).status_code == 200
    app.refresh_from_db()
    assert (app.status, app.reminders_sent) == ("acknowledged", 1)

    # The customer never answers: escalation to its escalation contact and to the commander.
    smtp.messages.clear()
    assert notification_escalate(notification_id=app.pk).acknowledged
    notification_escalate(notification_id=customer.pk)
    assert {"ceo@beta-ai.test", "ciso@beta-ai.test", "cmdr@example.test"} <= smtp.recipients
    assert "ops@shopapps.test" not in smtp.recipients
    customer.refresh_from_db()
    assert customer.status == Notification.Status.ESCALATED
    escalations = _hooks_for(webhook_receiver, case.secrets["Beta AI Customer"], customer)
    assert [h["type"] for h in escalations] == ["key_status.initial", "key_status.reminder", "key_status.escalation"]
    case.incident.refresh_from_db()
    assert "Beta AI Customer" in case.incident.attention

    actions = list(
        AuditEvent.objects.filter(incident=case.incident.reference, action__startswith="notification.").values_list(
            "action", flat=True
        )
    )
    for expected in (
        "notification.drafted",
        "notification.approved",
        "notification.initial_sent",
        "notification.acknowledged",
        "notification.reminder_sent",
        "notification.escalated",
        "notification.escalation_sent",
    ):
        assert expected in actions


def test_a_retried_send_never_sends_twice(case, commander, smtp, webhook_receiver):
    vendor = _approved(case, commander)["Acme HSM"]
    webhook_receiver.statuses = [503]  # the webhook fails once, the email goes out
    with pytest.raises(SendRetry, match="503"):
        notification_send(notification_id=vendor.pk, purpose="initial")
    assert len(_mail_to(smtp, "security@acme-hsm.test")) == 1
    assert Delivery.objects.get(notification=vendor, channel__kind="webhook").status == "failed"

    outcome = notification_send(notification_id=vendor.pk, purpose="initial")  # the activity's retry
    assert outcome.delivered == 2
    assert len(_mail_to(smtp, "security@acme-hsm.test")) == 1  # not again
    deliveries = [r for r in webhook_receiver.received if vendor.idempotency_key.encode() in r.body]
    assert len(deliveries) == 2  # the failed attempt and its retry: the same webhook-id, for dedup
    assert deliveries[0].headers["webhook-id"] == deliveries[1].headers["webhook-id"]

    notification_send(notification_id=vendor.pk, purpose="initial")  # and once more: nothing
    assert len(_mail_to(smtp, "security@acme-hsm.test")) == 1
    assert len([r for r in webhook_receiver.received if vendor.idempotency_key.encode() in r.body]) == 2
    assert Delivery.objects.filter(notification=vendor).count() == 2


def test_a_delivery_being_sent_elsewhere_is_not_sent_again(case, commander, smtp):
    app = _approved(case, commander)["Shop Apps"]
    delivery = Delivery.objects.create(
        notification=app,
        channel=app.party.channels.get(),
        purpose="initial",
        sequence=1,
        idempotency_key=f"{app.idempotency_key}:{app.party.channels.get().pk}:initial:1",
        message_id="msg_claimed",
        status="sending",
        claimed_at=timezone.now(),
    )
    with pytest.raises(SendRetry, match="being sent by another attempt"):
        notification_send(notification_id=app.pk, purpose="initial")
    assert smtp.messages == []
    delivery.refresh_from_db()
    assert delivery.attempts == 0


def test_drafts_wait_for_the_commander(case, commander, outsider, smtp):
    from notifications.errors import NotAllowedToApprove
    from notifications.services.delivery import NotApproved

    (draft, *_) = notifications_draft(reference=case.incident.reference, actor=SYSTEM)
    with pytest.raises(NotApproved):
        notification_send(notification_id=draft.pk, purpose="initial")
    with pytest.raises(NotAllowedToApprove):
        notifications_approve(reference=case.incident.reference, user=outsider, actor=SYSTEM)
    assert smtp.messages == []
    assert notifications_draft(reference=case.incident.reference, actor=SYSTEM) == []  # no duplicate drafts


def test_escalation_with_the_mail_relay_down_still_reaches_the_incident_and_the_webhook(
    case, commander, webhook_receiver
):
    from django.test import override_settings

    from tests.servers import free_port

    customer = _approved(case, commander)["Beta AI Customer"]
    closed = free_port()  # nothing listens there
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1", EMAIL_PORT=closed
    ):
        with pytest.raises(SendRetry, match="email"):
            notification_escalate(notification_id=customer.pk)
        with pytest.raises(SendRetry, match="email"):
            notification_escalate(notification_id=customer.pk)  # the activity's retry
    case.incident.refresh_from_db()
    assert "Beta AI Customer" in case.incident.attention
    assert AuditEvent.objects.filter(action="notification.escalated", subject_id=customer.idempotency_key).count() == 1
    hooks = _hooks_for(webhook_receiver, case.secrets["Beta AI Customer"], customer)
    assert [h["type"] for h in hooks] == ["key_status.escalation"]  # once, despite the retry
