"""Legal's day: the obligations due, the facts only legal can decide, the commander's request for
sign-off, the sign-off with a fresh step-up, the filing recorded — axe-core clean on every page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from approvals.models import ApprovalRequest
from audit.actors import Actor
from regulatory.models import Filing, Obligation
from regulatory.services.assessments import assessment_sync
from regulatory.services.filings import filing_signoff_request
from regulatory.services.profile import demo_profile_seed
from tests.browser import add_virtual_authenticator, enrol_first_authenticator, sign_in
from tests.conftest import PASSWORD
from tests.regulatory.conftest import make_incident
from webapp import roles

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_legal_sees_what_is_due_decides_the_facts_and_signs_off_the_filing(journey, make_user):
    dpo = make_user("dpo", roles.LEGAL_DPO)
    commander = make_user("cmdr", roles.COMMANDER)
    demo_profile_seed()  # a German controller, as make run seeds it
    incident = make_incident(
        reference="INC-2026-7001",
        asset="Card holder data",
        categories=["payment", "personal_data"],
        records=48_000,
        jurisdictions=["EU", "DE"],
        alias="payments",
    )
    assert assessment_sync(incident) is not None
    page = journey.page
    add_virtual_authenticator(page)
    filed_at = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")

    sign_in(page, journey.base, dpo.username, PASSWORD)
    journey.axe()  # home: the obligations due, first thing
    assert "INC-2026-7001" in journey.home_section("obligations_due").inner_text()
    journey.go("/regulatory/due/")
    due = page.locator("main")
    due.get_by_text("EU-GDPR-33").first.wait_for()
    assert "INC-2026-7001" in due.inner_text()

    # The obligation is provisional until legal decides the risk: the guided form, previewed, recorded.
    page.get_by_role("link", name="INC-2026-7001").first.click()
    journey.see("Decisions to take")
    gdpr = page.locator("#obligation-EU-GDPR-33")
    assert "provisional" in gdpr.inner_text()
    page.select_option("#id_decision-unlikely_risk", "false")
    page.fill("#id_decision-unlikely_risk-note", "card numbers readable with the key")
    page.click("button[name=preview]")
    journey.see("If recorded, this changes")
    page.click("button[name=record]")
    journey.see("Assessment v2 recorded")
    gdpr = page.locator("#obligation-EU-GDPR-33")
    assert "provisional" not in gdpr.inner_text()
    assert "due" in gdpr.inner_text()

    # The commander asks for legal's sign-off; legal adds an authenticator, then signs it off.
    obligation = Obligation.objects.get(incident=incident, rule_id="EU-GDPR-33")
    filing_signoff_request(
        obligation=obligation, user=commander, actor=Actor(name="cmdr", type="user"), reason="ready to file"
    )
    journey.go("/")
    journey.home_section("signoffs").get_by_text("EU-GDPR-33").first.wait_for()  # the sign-off asked of legal
    enrol_first_authenticator(page, journey.base, PASSWORD, name="dpo key")
    journey.see("dpo key — registered")
    journey.go(f"/regulatory/incidents/{incident.reference}/")
    page.locator("#obligation-EU-GDPR-33 a", has_text="pending").click()
    journey.see("Exactly what is approved")
    page.fill("#id_reason", "notification text checked")
    page.click("#sign-webauthn")
    page.get_by_role("cell", name="webauthn").wait_for()
    journey.axe()

    journey.go(f"/regulatory/incidents/{incident.reference}/")
    gdpr = page.locator("#obligation-EU-GDPR-33")
    assert "approved" in gdpr.inner_text()
    gdpr.locator("summary", has_text="Record the filing").click()
    gdpr.locator("input[name=filed_at]").fill(filed_at)
    gdpr.locator("input[name=channel]").fill("BfDI online form")
    gdpr.locator("input[name=reference]").fill("DE-2026-123")
    journey.axe()
    gdpr.locator("button", has_text="Record").click()
    journey.see("Filing of EU-GDPR-33 recorded.")
    assert "BfDI online form DE-2026-123" in page.locator("#obligation-EU-GDPR-33").inner_text()

    request = ApprovalRequest.objects.get(subject_id=f"{incident.reference}/EU-GDPR-33")
    assert request.status == "approved"
    filing = Filing.objects.get(obligation=obligation)
    assert (filing.filed_by, filing.signoff_id) == ("dpo", request.id)
