"""The ack link in a real browser: the token after "#" is moved into the form by the page's script, never
requested from the server, and leaves the address bar."""

from __future__ import annotations

import pytest

from notifications.models import Notification
from notifications.services.acks import ack_token_issue
from notifications.services.messages import notifications_approve, notifications_draft
from tests.browser import browser_page
from tests.notifications.conftest import SYSTEM

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_link_acknowledges_in_a_browser_without_sending_the_token_in_a_url(live_server, case, commander):
    notifications_draft(reference=case.incident.reference, actor=SYSTEM)
    (vendor,) = [
        n
        for n in notifications_approve(reference=case.incident.reference, user=commander, actor=SYSTEM)
        if n.party == case.vendor
    ]
    token, _ = ack_token_issue(vendor)
    requested: list[str] = []
    with browser_page() as page:
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{live_server.url}/notifications/ack/#{token}")
        assert page.locator("#ack-token-row").is_hidden()
        assert "#" not in page.url
        page.fill("#ack-name", "Dana at Acme")
        page.click("button[type=submit]")
        page.wait_for_selector("text=Thank you")
    assert not [url for url in requested if token in url]
    vendor = Notification.objects.get(pk=vendor.pk)
    assert vendor.acked_by == "Dana at Acme (Acme HSM)"
