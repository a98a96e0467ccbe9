"""Ack links: no login, single use, expiring, only a hash stored; anything else is a clear 404, and a
notification is never acknowledged twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from notifications.models import AckToken, Notification
from notifications.services.acks import ack_token_issue, token_hash
from notifications.services.messages import notifications_approve, notifications_draft
from tests.notifications.conftest import SYSTEM

pytestmark = pytest.mark.django_db


@pytest.fixture
def vendor(case, commander) -> Notification:
    notifications_draft(reference=case.incident.reference, actor=SYSTEM)
    approved = notifications_approve(reference=case.incident.reference, user=commander, actor=SYSTEM)
    return next(n for n in approved if n.party == case.vendor)


def _acks(notification: Notification) -> int:
    return AuditEvent.objects.filter(
        action="notification.acknowledged", subject_id=notification.idempotency_key
    ).count()


def test_only_the_hash_of_a_token_is_stored(vendor):
    token, expires_at = ack_token_issue(vendor)
    row = AckToken.objects.get(notification=vendor)
    assert row.token_hash == token_hash(token) != token
    assert len(token) >= 40  # 256 bits, URL-safe
    assert not AckToken.objects.filter(token_hash=token).exists()
    assert expires_at > timezone.now() + timedelta(days=13)


ACK = "/notifications/ack/"


def test_a_link_acknowledges_once_then_404(vendor):
    token, _ = ack_token_issue(vendor)
    client = Client(enforce_csrf_checks=True)  # no session, no CSRF cookie: the token is the credential
    page = client.get(ACK)
    assert page.status_code == 200
    assert page["Referrer-Policy"] == "no-referrer"
    assert page["Cache-Control"] == "no-store"
    assert 'name="token"' in page.content.decode()
    vendor.refresh_from_db()
    assert vendor.acked_at is None  # showing the page (a mail scanner's prefetch) acknowledges nothing

    done = client.post(ACK, {"token": token, "name": "Dana"})
    assert done.status_code == 200
    assert vendor.subject in done.content.decode()
    again = client.post(ACK, {"token": token, "name": "Mallory"})
    assert again.status_code == 404
    assert "not valid" in again.content.decode()
    vendor.refresh_from_db()
    assert vendor.acked_by == "Dana (Acme HSM)"
    assert _acks(vendor) == 1


def test_a_second_link_of_an_acknowledged_notification_is_dead_too(vendor):
    first, _ = ack_token_issue(vendor)
    second, _ = ack_token_issue(vendor)  # a reminder's link
    client = Client()
    assert client.post(ACK, {"token": first, "name": "Dana"}).status_code == 200
    assert client.post(ACK, {"token": second, "name": "Eve"}).status_code == 404
    assert _acks(vendor) == 1


@pytest.mark.parametrize("token", ["nonsense", "x" * 43, "", "-"])
def test_a_bad_token_is_a_clear_404(vendor, token):
    response = Client().post(ACK, {"token": token, "name": "x"})
    assert response.status_code == 404
    assert "unknown, has expired or was already used" in response.content.decode()
    vendor.refresh_from_db()
    assert vendor.acked_at is None


def test_an_expired_token_is_a_404(vendor):
    token, _ = ack_token_issue(vendor)
    AckToken.objects.filter(token_hash=token_hash(token)).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Client().post(ACK, {"token": token, "name": "late"}).status_code == 404
    vendor.refresh_from_db()
    assert vendor.acked_at is None


def test_internal_team_members_acknowledge_in_their_inbox(case, commander, make_user):
    from notifications.models import Channel, Party, PartyRole
    from notifications.services.delivery import notification_send

    member = make_user("kms-oncall")
    team = Party.objects.create(name="KMS team", kind="team", role=PartyRole.INTERNAL_TEAM, every_incident=True)
    team.members.add(member)
    Channel.objects.create(party=team, kind=Channel.Kind.INBOX)
    notifications_draft(reference=case.incident.reference, actor=SYSTEM)
    (mine,) = [
        n
        for n in notifications_approve(reference=case.incident.reference, user=commander, actor=SYSTEM)
        if n.party == team
    ]
    notification_send(notification_id=mine.pk, purpose="initial")

    client = Client()
    client.force_login(member)
    page = client.get("/notifications/inbox/")
    assert page.status_code == 200
    body = page.content.decode()
    assert mine.subject in body
    assert "billing-kek" in body  # internal teams see key aliases
    assert client.post("/notifications/inbox/", {"notification": mine.pk}).status_code == 302
    mine.refresh_from_db()
    assert (mine.status, mine.acked_by) == ("acknowledged", "kms-oncall")

    stranger = make_user("stranger")
    client.force_login(stranger)
    assert mine.subject not in client.get("/notifications/inbox/").content.decode()
    assert client.post("/notifications/inbox/", {"notification": mine.pk}).status_code == 404
