"""Bug 7: while mail fails, "approval needed" and "needs you" alerts are kept and retried with backoff
(not dropped after a minute), the failure shows where the person waiting looks (incident, approval and
home pages), and the audit says who got the mail and who did not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from approvals import policies
from approvals.services.notify import approval_notice_send
from audit.models import AuditEvent
from incidents.models import Incident
from incidents.services.playbook import incident_attention
from keyvault.states import KeyState
from tests.approvals.conftest import open_request, suspended_key
from tests.incidents.conftest import cloudevent, post_signal
from tests.keyvault.conftest import make_key
from tests.mail import smtp_server
from tests.servers import free_port
from webapp import roles
from webapp.models import StaffMail
from webapp.services.staff_mail import retry_delay, staff_mail_retry_due

pytestmark = pytest.mark.django_db

SMTP = "django.core.mail.backends.smtp.EmailBackend"


def mail_down():
    """A mail server that refuses connections (nothing listens on the port)."""
    return override_settings(EMAIL_BACKEND=SMTP, EMAIL_HOST="127.0.0.1", EMAIL_PORT=free_port(), EMAIL_TIMEOUT=2)


def due_now(mail: StaffMail) -> None:
    StaffMail.objects.filter(pk=mail.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_approval_mail_survives_a_mail_outage_and_the_audit_says_who_got_it(client, people):
    commander = people[roles.COMMANDER]
    with mail_down():
        request = open_request(policies.CONFIRM_COMPROMISE, commander, {"keys": [str(suspended_key().id)]})
        assert approval_notice_send(request_id=request.id, kind="opened") == 0  # no exception: the caller goes on
    mail = StaffMail.objects.get(subject_type="approval_request", subject_id=str(request.id))
    assert mail.status == StaffMail.Status.FAILING
    assert mail.attempts == 1
    assert mail.next_attempt_at is not None
    assert mail.next_attempt_at > timezone.now()
    failed = AuditEvent.objects.get(action="mail.delivery_failed", subject_id=str(request.id))
    assert failed.incident == "INC-1"
    assert set(failed.data["not_delivered_to"]) == {
        "security_lead@example.test",
        "lead2@example.test",
        "key_custodian@example.test",
    }
    assert failed.data["delivered_to"] == []

    # Where the requester and the approvers look: the request, the approvals page, the incident, home.
    client.force_login(commander)
    for url in (reverse("approval-page", args=[request.id]), reverse("approvals-inbox")):
        page = client.get(url).content.decode()
        assert "Alert mail not delivered" in page, url
        assert "key_custodian@example.test" in page
        assert "retrying with backoff: 1 attempt so far" in page
    home = Template("{% load staff_mail %}{% undelivered_alert_mail user %}").render(Context({"user": commander}))
    assert "Alert mail not delivered" in home
    assert "Alert mail not delivered" in client.get(reverse("home")).content.decode()

    # Still down at the next try: backed off further, not dropped, not audited again.
    due_now(mail)
    with mail_down():
        assert staff_mail_retry_due() == 1
    mail.refresh_from_db()
    assert (mail.status, mail.attempts) == (StaffMail.Status.FAILING, 2)
    assert mail.next_attempt_at is not None
    assert mail.next_attempt_at - timezone.now() > retry_delay(1)
    assert AuditEvent.objects.filter(action="mail.delivery_failed").count() == 1

    # Mail is back: delivered to everyone, audited, and the warning goes.
    due_now(mail)
    with smtp_server() as (inbox, port), override_settings(EMAIL_BACKEND=SMTP, EMAIL_HOST="127.0.0.1", EMAIL_PORT=port):
        assert staff_mail_retry_due() == 1
    assert inbox.recipients == set(mail.recipients)
    delivered = AuditEvent.objects.get(action="mail.delivered", subject_id=str(request.id))
    assert set(delivered.data["delivered_to"]) == set(mail.recipients)
    assert delivered.data["not_delivered_to"] == []
    assert "Alert mail not delivered" not in client.get(reverse("approval-page", args=[request.id])).content.decode()


def test_backoff_grows_and_a_mail_given_up_is_audited_as_not_delivered(people, settings):
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert retry_delay(30) == timedelta(seconds=settings.SEQUESTER_STAFF_MAIL_MAX_BACKOFF_SECONDS)
    with mail_down():
        request = open_request(
            policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key().id)]}
        )
        approval_notice_send(request_id=request.id, kind="reminder")
        mail = StaffMail.objects.get(subject_id=str(request.id))
        StaffMail.objects.filter(pk=mail.pk).update(
            created_at=timezone.now() - timedelta(hours=settings.SEQUESTER_STAFF_MAIL_GIVE_UP_HOURS, minutes=1)
        )
        due_now(mail)
        staff_mail_retry_due()
    mail.refresh_from_db()
    assert mail.status == StaffMail.Status.FAILED
    gave_up = AuditEvent.objects.get(action="mail.not_delivered", subject_id=str(request.id))
    assert len(gave_up.data["not_delivered_to"]) == 3
    assert gave_up.data["attempts"] == 2


def test_the_commander_alert_does_not_claim_a_delivery_and_is_not_repeated_by_retries(client, detector, make_user):
    commander = make_user("cmdr-mail", roles.COMMANDER)
    commander.email = "cmdr@example.test"
    commander.save()
    key, _ = make_key("local", KeyState.ACTIVE, alias="payments")
    reference = post_signal(detector, cloudevent({"id": str(key.id)})).json()["incident"]
    Incident.objects.filter(reference=reference).update(commander=commander)
    with mail_down():
        assert incident_attention(reference=reference, message="step restrict failed: backend down") == 0
        # The activity retried (as Temporal does): nothing is recorded or mailed twice.
        assert incident_attention(reference=reference, message="step restrict failed: backend down") == 0
    events = AuditEvent.objects.filter(action="incident.attention", incident=reference)
    assert events.count() == 1
    assert events.get().data["alert_to"] == ["cmdr@example.test"]
    assert set(events.get().data) == {"alert_mail", "alert_to", "delivery"}  # who it is for, no claim of delivery
    assert StaffMail.objects.filter(incident=reference).count() == 1
    failed = AuditEvent.objects.get(action="mail.delivery_failed", incident=reference)
    assert failed.data["not_delivered_to"] == ["cmdr@example.test"]

    client.force_login(commander)
    live = client.get(reverse("incident-live", args=[reference])).content.decode()
    assert "Alert mail not delivered" in live
    assert "cmdr@example.test" in live
