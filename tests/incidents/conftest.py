"""Signals and incidents: a detector's token, CloudEvents, webhook sources."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

from rest_framework.test import APIClient

from incidents.models import WebhookSource
from incidents.webhooks import webhook_secret_seal


def cloudevent(*refs: dict[str, str], event_id: str | None = None, **data: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": "https://scanner.example/test",
        "type": "com.example.secret.leaked",
        "time": "2026-11-29T10:00:00Z",
        "datacontenttype": "application/json",
        "data": {"keys": list(refs), "severity": "high", "evidence": {"url": "https://x.example/1"}, **data},
    }


def post_signal(client: APIClient, event: dict[str, Any]):
    return client.post("/api/v1/signals/", json.dumps(event), content_type="application/cloudevents+json")


def webhook_source(name: str, kind: str, secret: bytes = b"s3cret") -> bytes:
    WebhookSource.objects.create(name=name, kind=kind, secret_sealed=webhook_secret_seal(name, secret))
    return secret


def signed(secret: bytes, body: bytes) -> str:
    """GitHub's ``X-Hub-Signature-256``: the HMAC of the body alone."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signed_now(secret: bytes, body: bytes, timestamp: int | None = None) -> str:
    """``X-Sequester-Signature``: ``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``
    (written from docs/detector-webhooks.md, not from the server's code)."""
    moment = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret, f"{moment}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={moment},v1={mac}"


from tests.approvals.conftest import authenticators, compromised_key, people  # noqa: E402, F401 - shared fixtures
from tests.keyvault.conftest import app, gate_user  # noqa: E402, F401 - fixtures shared with key custody tests
