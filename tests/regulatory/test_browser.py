"""Legal's work end to end in a real browser (Debian Chromium, Chrome's virtual WebAuthn authenticator):
the DPO enters a decision through the guided facts form, sees the provisional GDPR clock become required,
signs off the filing with step-up (the commander asked for it), and records the filing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from approvals.models import ApprovalRequest, Decision
from audit.models import AuditEvent
from regulatory.models import Assessment, Filing, Obligation
from regulatory.services.assessments import assessment_sync
from regulatory.services.profile import demo_profile_seed
from tests.browser import add_virtual_authenticator, browser_page, enrol_first_authenticator, sign_in
from tests.conftest import PASSWORD
from tests.regulatory.conftest import make_incident
from webapp import roles

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _sign_in(page, base: str, username: str) -> None:
    sign_in(page, base, username, PASSWORD)


def test_legal_enters_facts_signs_off_with_step_up_and_records_the_filing(live_server, settings, make_user):
    base = live_server.url.replace("127.0.0.1", "localhost")
    settings.SEQUESTER_WEBAUTHN_ORIGINS = [base]
    settings.SEQUESTER_WEBAUTHN_RP_ID = "localhost"
    dpo = make_user("dpo", roles.LEGAL_DPO)
    commander = make_user("cmdr", roles.COMMANDER)
    demo_profile_seed()  # what make run seeds: a German controller
    incident = make_incident(  # a German controller's card data, its key compromised: GDPR Art 33 applies
        reference="INC-2026-7001",
        asset="Card holder data",
        categories=["payment", "personal_data"],
        records=48_000,
        jurisdictions=["EU", "DE"],
        alias="payments",
    )
    first = assessment_sync(incident)  # the sync job's first assessment, from the profile and the blast radius
    assert first is not None
    gdpr = Obligation.objects.get(incident=incident, rule_id="EU-GDPR-33")
    assert (gdpr.status, gdpr.detail["provisional"]) == ("required", True)  # the risk is not decided yet
    page_url = f"{base}/regulatory/incidents/{incident.reference}/"
    filed_at = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")

    with browser_page() as page:
        add_virtual_authenticator(page)
        _sign_in(page, base, dpo.username)
        enrol_first_authenticator(page, base, PASSWORD)

        # the provisional clock, the decision to take and who takes it
        page.goto(page_url)
        row = page.locator("#obligation-EU-GDPR-33")
        assert "provisional" in row.inner_text()
        assert "decisions.unlikely_risk" in page.locator("table.questions").inner_text()
        assert page.locator("textarea[name=facts]").count() == 0  # no raw JSON

        # the DPO decides through the form: preview, then record
        page.select_option("#id_decision-unlikely_risk", "false")
        page.fill("#id_decision-unlikely_risk-note", "card numbers readable with the key")
        page.click("button[name=preview]")
        page.wait_for_selector("text=If recorded, this changes")
        assert "decisions.unlikely_risk.value" in page.locator("section.preview").inner_text()
        page.click("button[name=record]")
        page.wait_for_selector("text=Assessment v2 recorded")
        row = page.locator("#obligation-EU-GDPR-33")
        assert "provisional" not in row.inner_text()
        assert "due" in row.inner_text()

        # the commander asks for legal sign-off (in a browser of his own)
        other = page.context.browser.new_context(viewport={"width": 1200, "height": 900})
        commander_page = other.new_page()
        _sign_in(commander_page, base, commander.username)
        commander_page.goto(page_url)
        commander_page.locator("#obligation-EU-GDPR-33 button", has_text="Request legal sign-off").click()
        commander_page.wait_for_selector("text=Sign-off of EU-GDPR-33 requested")
        other.close()

        # the DPO signs it off with step-up (WebAuthn), then records the filing
        page.goto(page_url)
        page.locator("#obligation-EU-GDPR-33 a", has_text="pending").click()
        page.fill("#id_reason", "notification text checked")
        page.click("#sign-webauthn")
        page.wait_for_selector("td >> text=webauthn")
        page.goto(page_url)
        row = page.locator("#obligation-EU-GDPR-33")
        assert "approved" in row.inner_text()
        row.locator("summary", has_text="Record the filing").click()
        row.locator("input[name=filed_at]").fill(filed_at)
        row.locator("input[name=channel]").fill("BfDI online form")
        row.locator("input[name=reference]").fill("DE-2026-123")
        row.locator("button", has_text="Record").click()
        page.wait_for_selector("text=Filing of EU-GDPR-33 recorded.")
        assert "BfDI online form DE-2026-123" in page.locator("#obligation-EU-GDPR-33").inner_text()

    # (The ORM is used outside the browser block: Playwright's sync API runs an event loop in this thread.)
    assert Assessment.objects.filter(incident=incident).count() == 2
    latest = Assessment.objects.filter(incident=incident).order_by("-version").first()
    assert latest is not None
    assert latest.recorded_by == "dpo"
    decision = latest.facts["decisions"]["unlikely_risk"]
    assert (decision["value"], decision["by"]) == (False, "dpo")
    request = ApprovalRequest.objects.get(subject_id=f"{incident.reference}/EU-GDPR-33")
    assert (request.status, request.requested_by) == ("approved", commander)
    approval = Decision.objects.get(request=request)
    assert (approval.approver, approval.method) == (dpo, "webauthn")
    filing = Filing.objects.get(obligation__incident=incident, obligation__rule_id="EU-GDPR-33")
    assert (filing.filed_by, filing.channel, filing.signoff_id) == ("dpo", "BfDI online form", request.id)
    assert filing.on_time
    assert AuditEvent.objects.filter(action="regulatory.filed", incident=incident.reference).exists()
