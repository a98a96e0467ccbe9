"""The incident commander's day: a leaked key reported from the form is contained at once; the playbook
(the real Temporal workflow, a real worker) waits at the confirmation gate; once the approvers confirm,
it runs to the Close step; the commander requests closure — axe-core clean on every page."""

from __future__ import annotations

import uuid

import pytest
from django.test import override_settings

from approvals.models import ApprovalRequest
from incidents.models import Incident
from keyvault.models import ManagedKey
from keyvault.states import KeyState
from tests.approvals.conftest import decide
from tests.browser import sign_in
from tests.conftest import PASSWORD
from tests.incidents.test_playbook_e2e import _estate
from tests.temporal_helpers import RunningWorker, pump_until
from webapp import roles

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def playbook_worker(temporal_address):
    task_queue = f"journey-{uuid.uuid4().hex[:8]}"
    with (
        override_settings(TEMPORAL_ADDRESS=temporal_address, TEMPORAL_TASK_QUEUE=task_queue),
        RunningWorker(temporal_address, task_queue),
    ):
        yield


def _pending(reference: str, action: str) -> ApprovalRequest | None:
    return ApprovalRequest.objects.filter(incident=reference, action=action, status="pending").first()


def test_commander_reports_contains_and_drives_the_playbook_to_closure(
    playbook_worker, journey, people, authenticators, app
):
    kek, dek, _ = _estate(app, items=12)
    commander = people[roles.COMMANDER]
    page = journey.page

    sign_in(page, journey.base, commander.username, PASSWORD)
    journey.axe()
    journey.go("/incidents/")
    page.get_by_role("link", name="Report a compromise").click()
    journey.see("Report a compromise")
    page.fill("#id_title", "KEK found in a public repository")
    page.select_option("#id_keys", label="platform-kek — KEK")
    page.fill("#id_description", "the scanner found the key material in a public gist")
    page.get_by_role("button", name="Contain now and open the incident").click()

    # Contained before the page answers: the KEK and the key it wraps are suspended.
    journey.see("Contained: 2 key(s) suspended.")
    reference = page.locator("h1").inner_text().split(":")[0]
    keys = page.locator("table", has=page.get_by_role("columnheader", name="Replaced by"))
    for alias in ("platform-kek", "payments"):
        assert "suspended" in keys.locator("tr", has=page.get_by_role("link", name=alias, exact=True)).inner_text()
    assert {k.key_state for k in ManagedKey.objects.filter(id__in=[kek.id, dek.id])} == {KeyState.SUSPENDED}

    journey.go("/")  # home: the incident is theirs
    journey.home_section("incidents_mine").get_by_role("link", name=reference).wait_for()
    journey.go(f"/incidents/{reference}/")

    # The playbook waits at the confirmation gate, and says who must still decide.
    pump_until(lambda: _pending(reference, "confirm_compromise") is not None, what="the confirmation gate")
    page.reload()
    pending = page.locator("h2:text-is('Pending approvals') + ul")
    pending.get_by_role("link", name="Confirm the compromise").wait_for()
    assert "Security lead" in pending.inner_text()  # role names in words
    journey.axe()
    assert page.locator("ol.steps li[aria-current=step]").inner_text().lower() == "confirm"

    confirm = _pending(reference, "confirm_compromise")
    assert confirm is not None
    decide(people[roles.SECURITY_LEAD], confirm, authenticator=authenticators[roles.SECURITY_LEAD])
    decide(people[roles.KEY_CUSTODIAN], confirm, authenticator=authenticators[roles.KEY_CUSTODIAN])

    # Restrict, replace and rewrap, notify, regulatory: the live page follows the steps up to Close.
    pump_until(lambda: Incident.objects.get(reference=reference).step == "close", timeout=120, what="the Close step")
    page.locator("ol.steps li[aria-current=step]", has_text="close").wait_for()
    for alias in ("platform-kek", "payments"):
        assert "compromised" in keys.locator("tr", has=page.get_by_role("link", name=alias, exact=True)).inner_text()
    page.reload()  # the Actions block is drawn with the page (the live refresh redraws the steps only)
    journey.see("Still open before closing")

    # Closure: every open item either done or waived with a reason; the request goes to a quorum.
    waivers = page.locator("input[name^=waiver_]")
    for index in range(waivers.count()):
        waivers.nth(index).fill("journey test: closed without it, on purpose")
    page.select_option("#id_choice", "keep_decrypt_only")
    page.get_by_role("button", name="Request closure").click()
    pump_until(lambda: _pending(reference, "close_incident") is not None, what="the close request")
    page.reload()
    pending = page.locator("h2:text-is('Pending approvals') + ul")
    pending.get_by_role("link", name="Close the incident").wait_for()
    journey.axe()
