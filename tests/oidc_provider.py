"""A real OpenID provider for tests: the ``oidc-provider`` npm package under node (``tests/node``,
installed by ``make node-deps``), on a loopback port; and a person's way through its sign-in pages."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

from tests.servers import free_port, stop, wait_until
from webapp.oidc.config import OidcConfig, parse_role_map

NODE_DIR = Path(__file__).resolve().parent / "node"
CLIENT_ID = "sequester-tests"
CLIENT_SECRET = "a-client-secret-for-tests-only"
ROLE_MAP = "ir-commanders=commander,sec-leads=security_lead,keyholders=key_custodian,legal=legal_dpo,audit=auditor"


def node_binary() -> str:
    path = shutil.which("node") or shutil.which("nodejs")
    if path is None:
        raise FileNotFoundError("node is not installed (make node-deps installs it as root)")
    if not (NODE_DIR / "node_modules" / "oidc-provider").is_dir():
        raise FileNotFoundError(f"{NODE_DIR}/node_modules is missing: run `make node-deps`")
    return path


@dataclass
class OpenIdProvider:
    issuer: str
    accounts_file: Path
    redirect_uri: str
    people: dict[str, dict[str, Any]] = field(default_factory=dict)

    def person(self, login: str, *groups: str, **claims: Any) -> None:
        """Add or change a person at the provider (read at their next sign-in)."""
        self.people[login] = {"groups": list(groups), "email": f"{login}@example.org", **claims}
        self.accounts_file.write_text(json.dumps(self.people), encoding="utf-8")

    def config(self, **changes: Any) -> OidcConfig:
        values: dict[str, Any] = {
            "issuer": self.issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "authorization_url": f"{self.issuer}/auth",
            "token_url": f"{self.issuer}/token",
            "jwks_url": f"{self.issuer}/jwks",
            "end_session_url": f"{self.issuer}/session/end",
            "role_map": parse_role_map("SEQUESTER_OIDC_ROLE_MAP", ROLE_MAP),
            "groups_claim": "groups",
            "username_claim": "preferred_username",
            "display_name": "Example Corp sign-in",
            "sign_algorithm": "RS256",
            "scopes": "openid profile email groups",
            "timeout_seconds": 10,
            "leeway_seconds": 60,
        }
        values.update(changes)
        return OidcConfig(**values)


READY_SECONDS = 60  # a start that says nothing for this long is tried again once, on another port


def _ready_line(process: subprocess.Popen[bytes]) -> str:
    """The provider's first line, or "" if it said nothing within READY_SECONDS (never blocks for ever)."""
    assert process.stdout is not None
    readable, _, _ = select.select([process.stdout], [], [], READY_SECONDS)
    return process.stdout.readline().decode() if readable else ""


@contextmanager
def openid_provider(redirect_uri: str, *, post_logout_uri: str = "", **env: str) -> Iterator[OpenIdProvider]:
    folder = Path(tempfile.mkdtemp(prefix="sqr-oidc-"))
    accounts = folder / "accounts.json"
    accounts.write_text("{}", encoding="utf-8")
    process, line = _start(redirect_uri, post_logout_uri, accounts, env)
    if not line.startswith("listening "):
        stop(process)
        process, line = _start(redirect_uri, post_logout_uri, accounts, env)
    try:
        if not line.startswith("listening "):
            raise RuntimeError(f"the OpenID provider did not start (exit {process.poll()}): {line!r}")
        issuer = line.split()[1]
        wait_until(
            lambda: requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2).ok,
            timeout=10,
            what="the OpenID provider",
            process=process,
        )
        yield OpenIdProvider(issuer=issuer, accounts_file=accounts, redirect_uri=redirect_uri)
    finally:
        stop(process)
        shutil.rmtree(folder, ignore_errors=True)


def _start(
    redirect_uri: str, post_logout_uri: str, accounts: Path, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [node_binary(), str(NODE_DIR / "oidc-provider.mjs")],
        env={
            **os.environ,
            "PORT": str(port),
            "CLIENT_ID": CLIENT_ID,
            "CLIENT_SECRET": CLIENT_SECRET,
            "REDIRECT_URIS": redirect_uri,
            "POST_LOGOUT_URIS": post_logout_uri,
            "ACCOUNTS_FILE": str(accounts),
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=NODE_DIR,
    )
    return process, _ready_line(process)  # "listening <issuer>" once it accepts connections


_FORM = re.compile(r"<form[^>]*action=\"([^\"]+)\"[^>]*>(.*?)</form>", re.S)
_INPUT = re.compile(r"<input[^>]*>", re.S)
_ATTR = re.compile(r"(\w+)=\"([^\"]*)\"")


def provider_sign_in(authorization_url: str, login: str, redirect_uri: str, browser: requests.Session) -> str:
    """Go through the provider's pages as a person would (its login form, any password), up to the
    redirect back to Sequester; returns that URL (with the code and state)."""
    url, method, data = authorization_url, "GET", None
    for _ in range(10):
        response = browser.request(method, url, data=data, allow_redirects=False, timeout=10)
        if response.is_redirect:
            location = urljoin(url, response.headers["Location"])
            if location.startswith(redirect_uri):
                return location
            url, method, data = location, "GET", None
            continue
        response.raise_for_status()
        form = _FORM.search(response.text)
        if form is None:
            raise AssertionError(f"the provider showed no form at {url}: {response.text[:300]}")
        fields = {}
        for tag in _INPUT.findall(form.group(2)):
            attrs = dict(_ATTR.findall(tag))
            if "name" in attrs:
                fields[attrs["name"]] = unescape(attrs.get("value", ""))
        if "login" in fields:
            fields.update(login=login, password="any password: development interactions")
        url, method, data = urljoin(url, unescape(form.group(1))), "POST", fields
    raise AssertionError("the provider never redirected back")
