"""Hole 12, the rest: the auditor could call the codec's encode; pages had no Content-Security-Policy
or Permissions-Policy; acknowledgement tokens were printed in the development console mail log."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.mail import EmailMessage, get_connection
from temporalio.api.common.v1 import Payload

from ir_workflows.client import payload_codec
from webapp import roles

ROOT = Path(__file__).resolve().parents[2]


def _codec_body() -> str:
    sealed = asyncio.run(payload_codec().encode([Payload(metadata={"encoding": b"json/plain"}, data=b'"x"')]))
    return json.dumps(
        {
            "payloads": [
                {
                    "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                    "data": base64.b64encode(p.data).decode(),
                }
                for p in sealed
            ]
        }
    )


@pytest.mark.django_db
def test_the_auditor_decodes_but_cannot_encode(client, make_user):
    body = _codec_body()
    client.force_login(make_user("an-auditor", roles.AUDITOR))
    assert client.post("/api/temporal-codec/decode", body, content_type="application/json").status_code == 200
    refused = client.post("/api/temporal-codec/encode", body, content_type="application/json")
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    client.force_login(make_user("a-commander", roles.COMMANDER))
    assert client.post("/api/temporal-codec/encode", body, content_type="application/json").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/", "/approvals/", "/api/v1/me/", "/healthz", "/no-such-page/"])
def test_every_answer_carries_csp_and_permissions_policy(client, make_user, path):
    client.force_login(make_user("a-person", roles.COMMANDER))
    response = client.get(path)
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    policy = response["Permissions-Policy"]
    assert "camera=()" in policy
    assert "publickey-credentials-get=(self)" in policy  # step-up keeps working


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


def _page_templates() -> list[Path]:
    skip = {ROOT / ".venv", ROOT / "var", ROOT / "staticfiles", ROOT / "node_modules"}
    found = [
        path
        for path in ROOT.rglob("*.html")
        if "templates" in path.parts and not any(parent in skip for parent in path.parents)
    ]
    assert len(found) > 20  # the project's own templates were found
    return found


def test_no_page_template_holds_inline_script():
    """The CSP forbids inline script; this keeps the templates honest (a new inline handler fails here)."""
    offenders = []
    for path in _page_templates():
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER, JS_URL):
            offenders += [f"{path.relative_to(ROOT)}: {m.group(0)[:60]}" for m in pattern.finditer(text)]
    assert offenders == []


def test_the_template_check_catches_inline_script():
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script src="/static/x.js"></script>')
    assert EVENT_HANDLER.search('<button onclick="go()">')
    assert JS_URL.search('<a href="javascript:go()">')


def test_the_console_mail_log_redacts_ack_tokens():
    token = "Zm9vYmFyLXNlY3JldC10b2tlbi0xMjM0NTY3ODkw"
    stream = io.StringIO()
    connection = get_connection("notifications.console_mail.RedactingConsoleBackend", stream=stream)
    message = EmailMessage(
        subject="Key status",
        body=f"Acknowledge: http://localhost:8000/notifications/ack/#{token}\nThanks.",
        to=["soc@example.test"],
        connection=connection,
    )
    message.send()
    printed = stream.getvalue()
    assert token not in printed
    assert "/notifications/ack/#[redacted]" in printed
    assert token in message.body  # the message itself is untouched


@pytest.mark.slow  # starts manage.py in a process of its own
def test_development_settings_print_mail_through_the_redacting_backend(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "webapp.settings.development",
        "SEQUESTER_VAR_DIR": str(tmp_path),
    }
    env.pop("SEQUESTER_SMTP_HOST", None)
    out = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.EMAIL_BACKEND)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.strip() == "notifications.console_mail.RedactingConsoleBackend"
