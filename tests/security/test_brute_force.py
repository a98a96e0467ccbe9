"""Hole 6: no brute-force limits.

The attack (reproduced on the code before issue 11): 30 wrong passwords, then the right one, signed
in; wrong TOTP codes on a decision were not limited either.

Wanted: per-account and per-address throttling with lockout on sign-in, admin sign-in (django-axes)
and step-up (the step-up throttle), audited.
"""

from __future__ import annotations

import time

import pytest
from django.test import Client

from approvals import policies
from approvals.errors import StepUpFailed
from approvals.models import Decision
from audit.models import AuditEvent
from tests.approvals.conftest import decide, open_request, setup_totp, suspended_key
from tests.conftest import PASSWORD
from tests.webauthn_soft import SoftAuthenticator
from webapp import roles

pytestmark = pytest.mark.django_db


def _sign_in(client: Client, url: str, username: str, password: str, address: str = "198.51.100.7"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.parametrize("url", ["/login/", "/admin/login/"])
def test_thirty_wrong_passwords_lock_the_account(url, make_user):
    user = make_user("target", roles.CISO)
    user.is_staff = True
    user.save()
    client = Client()
    for _ in range(30):
        _sign_in(client, url, "target", "wrong password")
    right = _sign_in(client, url, "target", PASSWORD)
    assert "_auth_user_id" not in client.session, "signed in after 30 wrong passwords"
    assert right.status_code == 429
    # From another address the account is still locked (per account)...
    assert _sign_in(Client(), url, "target", PASSWORD, address="203.0.113.9").status_code == 429
    # ...and the lockout is evidenced once per account and address, not once per hammering try.
    locked = AuditEvent.objects.filter(action="auth.locked_out", subject_id="target")
    assert sorted(str(e.source_ip) for e in locked) == ["198.51.100.7", "203.0.113.9"]
    failed = AuditEvent.objects.filter(action="auth.sign_in_failed", subject_id="target").count()
    assert 1 <= failed <= 5


def test_one_address_trying_many_accounts_is_locked(make_user):
    make_user("bystander", roles.AUDITOR)
    client = Client()
    for n in range(6):
        _sign_in(client, "/login/", f"guess-{n}", "wrong password", address="192.0.2.50")
    assert _sign_in(client, "/login/", "bystander", PASSWORD, address="192.0.2.50").status_code == 429
    assert _sign_in(Client(), "/login/", "bystander", PASSWORD, address="192.0.2.51").status_code == 302


def _refusal(attempt) -> str:
    """The error code an attempt is refused with ("" when it went through: the attack worked)."""
    try:
        attempt()
    except StepUpFailed as exc:
        return exc.code
    except Exception as exc:  # noqa: BLE001 - any refusal is named by its code
        return str(getattr(exc, "code", type(exc).__name__))
    return ""


def test_wrong_totp_codes_lock_step_up(people, authenticators):
    lead = people[roles.SECURITY_LEAD]
    totp = setup_totp(lead)
    request = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key().id)]})
    right = totp.at(time.time() + totp.interval)
    wrong = [f"{(int(right) + n) % 1_000_000:06d}" for n in range(1, 6)]
    for code in wrong:
        with pytest.raises(StepUpFailed):
            decide(lead, request, totp=code)
    assert _refusal(lambda: decide(lead, request, totp=right)) == "step_up_locked"
    assert not Decision.objects.filter(request=request).exists()
    locked = AuditEvent.objects.get(action="stepup.locked_out", subject_id=lead.username)
    assert "account" in locked.data["scopes"]


def test_forged_assertions_lock_step_up_and_a_success_resets_the_count(people, authenticators):
    custodian = people[roles.KEY_CUSTODIAN]
    request = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key().id)]})
    forger = SoftAuthenticator()
    for _ in range(4):
        with pytest.raises(StepUpFailed):
            decide(custodian, request, authenticator=forger)
    decide(custodian, request, authenticator=authenticators[roles.KEY_CUSTODIAN])  # the 5th try is genuine
    other = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key("b").id)]})
    for _ in range(5):
        with pytest.raises(StepUpFailed):
            decide(custodian, other, authenticator=forger)
    genuine = authenticators[roles.KEY_CUSTODIAN]
    assert _refusal(lambda: decide(custodian, other, authenticator=genuine)) == "step_up_locked"
