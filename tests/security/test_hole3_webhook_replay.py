"""Hole 3: a signed webhook could be replayed (the HMAC covered the body only; a body dated 2001 was
accepted). The timestamp is inside the MAC, within ±5 minutes; the format is documented for detector
authors, and the documented signer is the one these tests use."""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from incidents.models import Signal
from keyvault.backends.local import fingerprint_of
from keyvault.models import ManagedKey
from keyvault.states import KeyState
from tests.incidents.conftest import cloudevent, signed, webhook_source
from tests.keyvault.conftest import make_key

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "detector-webhooks.md"
Y2001 = 978_307_200


def _documented_sign() -> Any:
    block = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)[0]
    namespace: dict[str, Any] = {}
    exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation's snippet
    return namespace["sign"]


@pytest.fixture
def scanner() -> bytes:
    make_key("local", KeyState.ACTIVE, alias="a")
    return webhook_source("scanner", "generic")


def _post(client: Client, body: bytes, signature: str):
    return client.post(
        "/api/v1/webhooks/scanner", body, content_type="application/json", HTTP_X_SEQUESTER_SIGNATURE=signature
    )


def _body(**overrides: Any) -> bytes:
    event = cloudevent({"alias": "a"}, event_id="alert-1")
    event.update(source="webhook:scanner/prod", **overrides)
    return json.dumps(event).encode()


def test_a_body_signed_in_2001_is_refused_as_stale(client, scanner):
    sign = _documented_sign()
    response = _post(
        client, _body(time="2001-01-01T00:00:00Z"), sign(scanner, _body(time="2001-01-01T00:00:00Z"), Y2001)
    )
    assert (response.status_code, response.json()["code"]) == (401, "stale_signature")
    assert not Signal.objects.exists()
    assert ManagedKey.objects.get(alias="a").key_state is KeyState.ACTIVE


@pytest.mark.parametrize("offset", [-301, 301, 3600])
def test_outside_five_minutes_either_way_is_stale(client, scanner, offset):
    body = _body()
    response = _post(client, body, _documented_sign()(scanner, body, int(time.time()) + offset))
    assert (response.status_code, response.json()["code"]) == (401, "stale_signature")


def test_the_body_only_mac_of_before_is_refused(client, scanner):
    """What detectors sent before (and what a captured old request carries): no timestamp, no entry."""
    body = _body()
    response = _post(client, body, signed(scanner, body))
    assert (response.status_code, response.json()["code"]) == (401, "bad_signature")


def test_moving_the_timestamp_breaks_the_mac(client, scanner):
    body = _body()
    old = _documented_sign()(scanner, body, int(time.time()) - 3600)
    mac = old.split("v1=")[1]
    response = _post(client, body, f"t={int(time.time())},v1={mac}")
    assert (response.status_code, response.json()["code"]) == (401, "bad_signature")


def test_a_replay_inside_the_window_is_a_duplicate_that_changes_nothing(client, scanner):
    body = _body()
    signature = _documented_sign()(scanner, body)
    assert _post(client, body, signature).status_code == 202
    replay = _post(client, body, signature)
    assert (replay.status_code, replay.json()["duplicate"], replay.json()["suspended"]) == (200, True, 0)
    assert Signal.objects.count() == 1


def test_a_replayed_github_delivery_is_a_duplicate(client):
    """GitHub's signature has no timestamp (the documented limit): the alert id inside the signed body
    makes a replay a duplicate, whatever X-GitHub-Delivery says."""
    secret = webhook_source("github", "github")
    material = bytes(range(32))
    key, _ = make_key("local", KeyState.ACTIVE, alias="leaked")
    key.versions.update(fingerprint=fingerprint_of(material))
    body = json.dumps(
        {
            "action": "created",
            "alert": {"number": 3, "secret": base64.b64encode(material).decode()},
            "repository": {"full_name": "acme/app"},
        }
    ).encode()
    answers = [
        client.post(
            "/api/v1/webhooks/github",
            body,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=signed(secret, body),
            HTTP_X_GITHUB_DELIVERY=delivery,
        )
        for delivery in ("d-1", "d-2-forged")
    ]
    assert [a.status_code for a in answers] == [202, 200]
    assert answers[1].json()["duplicate"] is True
    assert Signal.objects.get().evidence["delivery"] == "d-1"
    assert "X-GitHub-Delivery" in DOC.read_text()
