"""Step-up end to end in a real browser: Chrome's virtual WebAuthn authenticator registers in the
profile, signs a decision on the request page, and the server verifies it; replaying it is refused."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.test import Client

from approvals import policies
from approvals.models import ApprovalRequest, Decision, WebAuthnCredential
from tests.approvals.conftest import open_request, suspended_key
from tests.browser import add_virtual_authenticator, browser_page, sign_in
from tests.conftest import PASSWORD
from webapp import roles

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _sign_in(page, base: str, username: str) -> None:
    sign_in(page, base, username, PASSWORD)


def test_register_then_approve_with_the_virtual_authenticator(live_server, settings, people, capsys):
    base = live_server.url.replace("127.0.0.1", "localhost")
    settings.SEQUESTER_WEBAUTHN_ORIGINS = [base]
    settings.SEQUESTER_WEBAUTHN_RP_ID = "localhost"
    lead = people[roles.SECURITY_LEAD]
    request = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key().id)]})

    posted: list[str] = []
    with browser_page() as page:
        add_virtual_authenticator(page)
        page.on("request", lambda r: posted.append(r.post_data or "") if r.url.endswith("/decide") else None)
        _sign_in(page, base, lead.username)

        # No authenticator yet: the request page offers to register one, and brings the person back.
        page.goto(f"{base}/approvals/{request.id}/")
        page.click("text=register one")
        page.fill("#id_prove_password", PASSWORD)  # no factor yet: the password re-entered
        page.click("#id_prove_password ~ button")
        page.fill("#id_name", "virtual key")
        page.click("#register-webauthn")
        page.wait_for_url(f"{base}/approvals/{request.id}/")

        page.goto(f"{base}/approvals/{request.id}/")
        assert page.inner_text("#payload-hash") == request.payload_hash
        page.fill("#id_reason", "the scanner hit is real")
        page.click("#sign-webauthn")
        page.wait_for_selector("text=No decision yet.", state="detached")
        page.wait_for_selector("td >> text=webauthn")
        # Bug 1: the form gives way to the recorded decision; deciding again is not offered.
        assert "You decided to approve as Security lead" in page.inner_text("#your-decision")
        assert page.locator("#decide-form").count() == 0
        assert page.locator("#sign-webauthn").count() == 0

        # A second factor needs the first one: confirm with the authenticator, then TOTP may be set up.
        page.goto(f"{base}/account/security/")
        assert page.locator("#id_prove_password").count() == 0  # the password alone no longer does
        page.click("#confirm-webauthn")
        page.wait_for_selector("text=Add or replace a method")
        page.click("text=Set up TOTP")
        page.wait_for_selector("text=Scan this code")

    # (The ORM is used outside the browser block: Playwright's sync API runs an event loop in this thread.)
    assert WebAuthnCredential.objects.filter(user=lead).count() == 1
    decision = Decision.objects.get(request=request)
    assert (decision.approver, decision.verdict, decision.method) == (lead, "approve", "webauthn")
    assert decision.evidence["user_verified"] is True
    assert ApprovalRequest.objects.get(pk=request.pk).status == "pending"  # a custodian is still required
    call_command("verify_decision", str(decision.id))
    assert "verifies" in capsys.readouterr().out

    # The browser's own assertion, replayed by someone holding the session: refused.
    replay = Client()
    replay.force_login(lead)
    body = json.loads(posted[-1])
    response = replay.post(f"/api/v1/approvals/{request.id}/decide", body, content_type="application/json")
    assert response.status_code in (401, 409)
    assert response.json()["code"] in ("challenge_invalid", "already_decided", "step_up_failed")
    assert Decision.objects.filter(request=request).count() == 1
