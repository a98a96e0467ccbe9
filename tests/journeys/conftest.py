"""Persona journeys in Debian Chromium: a live server, Chrome's virtual authenticator, axe-core on
every page a person sees (``Journey.see``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.approvals.conftest import authenticators, people  # noqa: F401 - shared fixtures
from tests.browser import browser_page
from tests.keyvault.conftest import app, gate_user  # noqa: F401 - shared fixtures
from tests.oidc_provider import NODE_DIR

AXE = NODE_DIR / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.2 A/AA and best practices, as axe-core ships them.
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                      nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""


@dataclass
class Journey:
    """One person's browser: each page they reach is checked with axe-core (no violation allowed)."""

    page: Any
    base: str
    checked: set[tuple[str, bool]] = field(default_factory=set)

    def axe(self, *, force: bool = False) -> None:
        """axe-core on the page as it is now; a page already checked in the same state (its path, with or
        without a flash message) is not checked again (a 4000-element page takes seconds)."""
        state = (urlsplit(self.page.url).path, self.page.locator(".messages li").count() > 0)
        if state in self.checked and not force:
            return
        if not self.page.evaluate("() => typeof window.axe === 'object'"):
            # Evaluated by the DevTools protocol: the page's Content-Security-Policy stays as served.
            self.page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
        violations = self.page.evaluate(AXE_RUN)
        assert violations == [], f"axe-core on {self.page.url}: {violations}"
        self.checked.add(state)

    def go(self, path: str) -> None:
        self.page.goto(f"{self.base}{path}")
        self.axe()

    def home_section(self, name: str) -> Any:
        """A section of the person's home page (role homes: ``webapp.home``)."""
        return self.page.locator(f"section[aria-labelledby=home-{name}]")

    def see(self, text: str, *, within: str = "main") -> None:
        """Wait until the text is visible in the page's main region, then check the page with axe."""
        self.page.locator(within).get_by_text(text, exact=False).first.wait_for(state="visible")
        self.axe()


@pytest.fixture
def base(live_server, settings, monkeypatch) -> str:
    url: str = live_server.url.replace("127.0.0.1", "localhost")
    # The browser's origin, and the one of the other approvers' software authenticators (their own devices).
    settings.SEQUESTER_WEBAUTHN_ORIGINS = [url, "http://localhost:8000"]
    settings.SEQUESTER_WEBAUTHN_RP_ID = "localhost"
    settings.SEQUESTER_BASE_URL = url
    # The test's own ORM calls run between browser steps, in the thread of Playwright's event loop.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    return url


@pytest.fixture
def journey(base: str) -> Iterator[Journey]:
    with browser_page() as page:
        page.set_default_timeout(20_000)
        yield Journey(page=page, base=base)
