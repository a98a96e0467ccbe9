"""The approver's day: a decision waits for them; they add their authenticator, read what they approve,
sign it with a fresh step-up, and see that their decision counted — axe-core clean on every page."""

from __future__ import annotations

import pytest

from approvals import policies
from approvals.models import ApprovalRequest, Decision
from tests.approvals.conftest import decide, open_request, suspended_key
from tests.browser import add_virtual_authenticator, enrol_first_authenticator, sign_in
from tests.conftest import PASSWORD
from webapp import roles

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_approver_decides_a_pending_confirmation_with_webauthn(journey, people, authenticators, make_user):
    lead = make_user("nadia", roles.SECURITY_LEAD)  # new on the rota: no authenticator yet
    custodian = people[roles.KEY_CUSTODIAN]
    key = suspended_key("payments")
    request = open_request(
        policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(key.id)]}, incident="INC-2026-0042"
    )
    page = journey.page
    add_virtual_authenticator(page)

    sign_in(page, journey.base, lead.username, PASSWORD)
    journey.axe()  # home: the decision waiting for them, first thing
    journey.home_section("decisions").get_by_text("INC-2026-0042").first.wait_for()
    journey.go("/approvals/")
    awaiting = page.locator("section[aria-labelledby=awaiting]")
    awaiting.get_by_role("link", name="Confirm the compromise").wait_for()
    assert "INC-2026-0042" in awaiting.inner_text()

    # No authenticator yet: the first one is added with the password re-entered.
    enrol_first_authenticator(page, journey.base, PASSWORD, name="lead's key")
    journey.see("lead's key — registered")

    journey.go("/approvals/")
    page.locator("section[aria-labelledby=awaiting]").get_by_role("link", name="Confirm the compromise").click()
    journey.see("Exactly what is approved")
    assert page.inner_text("#payload-hash") == request.payload_hash
    assert str(key.id) in page.inner_text("#payload")
    assert "No decision yet." in page.inner_text("main")
    page.fill("#id_reason", "the leaked KEK is ours: confirmed from the scanner's evidence")
    page.click("#sign-webauthn")
    decisions = page.locator("table", has=page.get_by_role("columnheader", name="Step-up"))
    decisions.get_by_role("cell", name="webauthn").wait_for()
    journey.axe(force=True)  # the page as it is after the decision
    row = decisions.locator("tbody tr").first.inner_text()
    assert lead.username in row
    assert "approve" in row
    # Their decision counted: a confirmation, no decide form any more, and who is still needed, in words.
    page.reload()
    journey.see("You decided to")
    assert "approve" in page.locator("p.status-ok").inner_text()
    assert page.locator("#decide-form").count() == 0
    assert "Key custodian" in page.inner_text("#still-needed")

    # The custodian decides (their own authenticator); the lead sees the request approved.
    decide(custodian, ApprovalRequest.objects.get(pk=request.pk), authenticator=authenticators[roles.KEY_CUSTODIAN])
    page.reload()
    journey.see("Approved", within="h1")
    assert Decision.objects.filter(request=request).count() == 2
    journey.go("/approvals/")
    recent = page.locator("section[aria-labelledby=recent]")
    recent.get_by_role("link", name="Confirm the compromise").wait_for()
    assert "Nothing awaits your decision." in page.locator("section[aria-labelledby=awaiting]").inner_text()
    journey.go("/")
    assert "INC-2026-0042" not in journey.home_section("decisions").inner_text()


def test_the_axe_check_fails_on_a_violation(journey, make_user):
    """The journeys' accessibility check can fail: an image without a text alternative is reported."""
    make_user("viewer", roles.AUDITOR)
    journey.page.goto(f"{journey.base}/login/")
    journey.axe()
    journey.page.evaluate("() => document.querySelector('main').appendChild(document.createElement('img'))")
    with pytest.raises(AssertionError, match="image-alt"):
        journey.axe(force=True)
