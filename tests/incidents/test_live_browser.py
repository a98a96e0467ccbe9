"""Bug 3 in a real browser: the incident page's live refresh also refreshes the Actions block —
"Request closure" appears when the step reaches Close, and the actions go once the incident is closed."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.utils import timezone

from incidents.models import Incident
from incidents.services.playbook import incident_set_step
from keyvault.states import KeyState
from tests.browser import browser_page, sign_in
from tests.conftest import PASSWORD
from tests.keyvault.conftest import make_key
from webapp import roles


def _in_thread(work) -> None:
    """The ORM off this thread: Playwright's sync API runs an event loop here (Django refuses the ORM)."""

    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(run).result()


pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_actions_follow_the_step_without_a_reload(live_server, make_user, detector):
    from tests.incidents.conftest import cloudevent, post_signal

    commander = make_user("cmdr-live", roles.COMMANDER)
    key, _ = make_key("local", KeyState.ACTIVE, alias="payments")
    reference = post_signal(detector, cloudevent({"id": str(key.id)})).json()["incident"]
    base = live_server.url

    with browser_page() as page:
        sign_in(page, base, commander.username, PASSWORD)
        page.goto(f"{base}/incidents/{reference}/")
        page.fill("#id_note", "half-typed")
        assert page.locator("button:has-text('Request closure')").count() == 0
        with page.expect_response(lambda r: r.url.endswith("/live"), timeout=15_000):
            pass  # one refresh with nothing changed: the Actions block (and what is typed in it) stays
        assert page.input_value("#id_note") == "half-typed"

        _in_thread(lambda: incident_set_step(reference=reference, step="close"))  # the workflow reaches Close
        page.wait_for_selector("button:has-text('Request closure')", timeout=15_000)

        _in_thread(
            lambda: Incident.objects.filter(reference=reference).update(
                status=Incident.Status.CLOSED, step="closed", closed_at=timezone.now()
            )
        )
        page.wait_for_selector("#actions", state="detached", timeout=15_000)
        assert page.locator("button:has-text('Request closure')").count() == 0
        assert page.locator("button:has-text('Add and contain')").count() == 0
