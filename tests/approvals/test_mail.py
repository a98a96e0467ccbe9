"""Eligible approvers get an email when a request opens, reminders, and the escalation role on escalation."""

from __future__ import annotations

import pytest
from django.test import override_settings

from approvals import policies
from approvals.services.notify import approval_notice_send
from approvals.tasks import notify_request_opened
from tests.approvals.conftest import decide, open_request, suspended_key
from tests.mail import smtp_server
from webapp import roles

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp():
    with (
        smtp_server() as (inbox, port),
        override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1", EMAIL_PORT=port
        ),
    ):
        yield inbox


def test_opening_mails_the_people_who_may_decide(people, smtp):
    request = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key().id)]})
    assert notify_request_opened.run(str(request.id)) == 3
    assert smtp.recipients == {"security_lead@example.test", "lead2@example.test", "key_custodian@example.test"}
    _, message = smtp.messages[0]
    assert message["Subject"] == "[Sequester] Approval needed: confirm compromise"
    body = message.get_payload()
    assert request.payload_hash in body
    assert f"/approvals/{request.id}/" in body


def test_reminders_skip_who_decided_and_escalation_reaches_the_ciso(people, authenticators, smtp):
    request = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key().id)]})
    decide(people[roles.SECURITY_LEAD], request, authenticator=authenticators[roles.SECURITY_LEAD])
    assert approval_notice_send(request_id=request.id, kind="reminder") == 2
    assert "security_lead@example.test" not in smtp.recipients
    smtp.messages.clear()
    approval_notice_send(request_id=request.id, kind="escalation")
    assert "ciso@example.test" in smtp.recipients
    assert smtp.messages[0][1]["Subject"].startswith("[Sequester] ESCALATED")


def test_no_mail_once_closed(people, authenticators, smtp):
    request = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key().id)]})
    decide(
        people[roles.SECURITY_LEAD], request, "reject", authenticator=authenticators[roles.SECURITY_LEAD], reason="no"
    )
    assert approval_notice_send(request_id=request.id, kind="reminder") == 0
    assert smtp.messages == []
