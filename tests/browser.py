"""Headless Debian Chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise FileNotFoundError("Debian's chromium is not installed (make test installs it as root)")
    return path


@contextmanager
def browser_page() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            yield page
        finally:
            browser.close()


def add_virtual_authenticator(page: Any) -> Any:
    """Chrome's virtual platform authenticator (CDP WebAuthn domain): user present and verified."""
    session = page.context.new_cdp_session(page)
    session.send("WebAuthn.enable")
    session.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return session


def sign_in(page: Any, base: str, username: str, password: str) -> None:
    """The login form, as a person fills it; waits for the home page."""
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def enrol_first_authenticator(page: Any, base: str, password: str, name: str = "virtual key") -> None:
    """A person with no factor yet registers the page's virtual authenticator: the first factor needs the
    password re-entered (a stolen session alone cannot add one)."""
    page.goto(f"{base}/account/security/")
    page.fill("#id_prove_password", password)
    page.click("#id_prove_password ~ button")
    page.fill("#id_name", name)
    page.click("#register-webauthn")
    page.wait_for_selector(f"text={name} — registered")
