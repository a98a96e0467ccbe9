"""Hole 5: a stolen session replaces the second factor.

The attack (reproduced on the code before issue 11): with nothing but a victim's session cookie, the
attacker re-enrolled TOTP on /account/security/ (no old factor, no password asked), then approved
``confirm_compromise`` with the new TOTP code in the victim's name. A WebAuthn registration could be
started the same way.

Wanted: adding or replacing a factor needs an existing factor (or, with none yet, the password; for
a person who lost every factor, the password and an approved recovery); the person is told by mail;
it is audited.
"""

from __future__ import annotations

import json
import time

import pyotp
import pytest
from django.test import Client
from django.urls import reverse

from approvals import policies
from approvals.models import Decision, TotpDevice, WebAuthnCredential
from audit.models import AuditEvent
from tests.approvals.conftest import decide, open_request, suspended_key
from tests.conftest import PASSWORD
from tests.webauthn_soft import SoftAuthenticator
from webapp import roles
from webapp.celery import app as celery_app

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager_celery():
    """Celery tasks (the mail to the person) run in-process, so the test sees the message."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def _stolen_session(user) -> Client:
    thief = Client()
    thief.force_login(user)
    return thief


def test_a_stolen_session_cannot_enrol_totp_and_approve(people, authenticators):
    victim = people[roles.SECURITY_LEAD]
    request = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key().id)]})
    thief = _stolen_session(victim)

    # 1. Re-enrol TOTP with the session alone.
    begun = thief.post(reverse("account-security"), {"step": "totp-begin"})
    secret = begun.context.get("totp_secret") if begun.context else None
    if secret:  # (what the attack did next, before the fix)
        thief.post(reverse("account-security"), {"step": "totp-confirm", "code": pyotp.TOTP(secret).now()})

    # 2. Start a WebAuthn registration with the session alone.
    registration = thief.post(reverse("webauthn-begin"), {}, content_type="application/json")

    # 3. Approve in the victim's name with a TOTP code the thief controls.
    code = pyotp.TOTP(secret).at(time.time() + 30) if secret else "000000"  # the next step: unused
    thief.post(reverse("approval-decide-totp", args=[request.id]), {"decision": "approve", "totp": code})

    assert secret is None, "a TOTP secret was issued to a session that proved nothing"
    assert b"step_up_required" in begun.content
    assert registration.status_code in (400, 401)
    assert not Decision.objects.filter(request=request).exists()
    assert not TotpDevice.objects.filter(user=victim).exists()
    assert WebAuthnCredential.objects.filter(user=victim).count() == 1


def test_the_password_alone_does_not_replace_an_existing_factor(people, authenticators):
    victim = people[roles.SECURITY_LEAD]
    thief = _stolen_session(victim)
    begun = thief.post(reverse("factor-change-begin"), {}, content_type="application/json").json()
    assert begun["accepts"] == ["webauthn"]
    proved = thief.post(
        reverse("factor-change-prove"),
        {"change_id": begun["change_id"], "password": PASSWORD},
        content_type="application/json",
    )
    assert (proved.status_code, proved.json()["code"]) == (403, "factor_required")
    forged = SoftAuthenticator().sign(json.dumps(begun["webauthn_options"]))
    proved = thief.post(
        reverse("factor-change-prove"),
        {"change_id": begun["change_id"], "webauthn": forged},
        content_type="application/json",
    )
    assert (proved.status_code, proved.json()["code"]) == (401, "step_up_failed")
    registration = thief.post(
        reverse("webauthn-begin"), {"change_id": begun["change_id"]}, content_type="application/json"
    )
    assert (registration.status_code, registration.json()["code"]) == (401, "step_up_required")
    assert AuditEvent.objects.filter(action="stepup.factor_change_refused", subject_id=victim.username).exists()


def test_the_owner_adds_a_factor_with_the_one_they_have_and_is_told(
    people, authenticators, mailoutbox, eager_celery, django_capture_on_commit_callbacks
):
    owner = people[roles.SECURITY_LEAD]
    session = _stolen_session(owner)  # the owner's own session this time
    begun = session.post(reverse("factor-change-begin"), {}, content_type="application/json").json()
    assertion = authenticators[roles.SECURITY_LEAD].sign(json.dumps(begun["webauthn_options"]))
    with django_capture_on_commit_callbacks(execute=True):
        proved = session.post(
            reverse("factor-change-prove"),
            {"change_id": begun["change_id"], "webauthn": assertion},
            content_type="application/json",
        )
        assert proved.status_code == 200, proved.json()
        page = session.post(reverse("account-security"), {"step": "totp-begin"})
        secret = page.context["totp_secret"]
        session.post(reverse("account-security"), {"step": "totp-confirm", "code": pyotp.TOTP(secret).now()})
    assert TotpDevice.objects.get(user=owner).confirmed_at is not None
    event = AuditEvent.objects.get(action="stepup.totp_registered", subject_id=owner.username)
    assert event.data == {"replaced": False, "proof": "webauthn"}
    assert [m.to for m in mailoutbox] == [[owner.email]]
    assert "TOTP" in mailoutbox[0].body


def test_first_enrolment_needs_the_password(make_user):
    newcomer = make_user("newcomer", roles.CISO)
    session = _stolen_session(newcomer)
    begun = session.post(reverse("factor-change-begin"), {}, content_type="application/json").json()
    assert begun["accepts"] == ["password"]
    for body, code in (({}, "step_up_required"), ({"password": "guess"}, "step_up_failed")):
        proved = session.post(
            reverse("factor-change-prove"), {"change_id": begun["change_id"], **body}, content_type="application/json"
        )
        assert proved.json()["code"] == code
    begun = session.post(reverse("factor-change-begin"), {}, content_type="application/json").json()
    proved = session.post(
        reverse("factor-change-prove"),
        {"change_id": begun["change_id"], "password": PASSWORD},
        content_type="application/json",
    )
    assert proved.status_code == 200
    options = session.post(
        reverse("webauthn-begin"), {"change_id": begun["change_id"]}, content_type="application/json"
    )
    assert options.status_code == 200


def test_lost_every_factor_means_password_and_an_approved_recovery(people, authenticators):
    person = people[roles.SECURITY_LEAD]
    session = _stolen_session(person)
    wrong = session.post(
        reverse("factor-recovery"), {"password": "guess", "reason": "lost my key"}, content_type="application/json"
    )
    assert wrong.json()["code"] == "step_up_failed"
    asked = session.post(
        reverse("factor-recovery"), {"password": PASSWORD, "reason": "lost my key"}, content_type="application/json"
    )
    assert asked.status_code == 201, asked.json()
    recovery = asked.json()
    assert recovery["action"] == policies.FACTOR_RECOVERY
    # Until approved, the lost factor still stands and the password cannot replace it.
    assert WebAuthnCredential.objects.filter(user=person, revoked_at__isnull=True).count() == 1
    from approvals.models import ApprovalRequest

    request = ApprovalRequest.objects.get(id=recovery["id"])
    decide(people["security_lead_2"], request, authenticator=authenticators["security_lead_2"])
    decide(people[roles.CISO], request, authenticator=authenticators[roles.CISO])
    request.refresh_from_db()
    assert request.status == "approved"
    assert not WebAuthnCredential.objects.filter(user=person, revoked_at__isnull=True).exists()
    assert AuditEvent.objects.filter(action="stepup.factors_revoked", subject_id=person.username).exists()
    begun = session.post(reverse("factor-change-begin"), {}, content_type="application/json").json()
    assert begun["accepts"] == ["password"]
