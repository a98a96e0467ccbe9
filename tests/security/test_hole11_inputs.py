"""Hole 11: inputs that gave a 500. Each case is the attack as it was sent; the answer is a typed 4xx."""

from __future__ import annotations

import base64
import io
import json
import logging
from typing import Any

import pytest
from django.test import Client

from incidents.models import Signal
from keyvault.states import KeyState
from tests.incidents.conftest import signed, signed_now, webhook_source
from tests.keyvault.conftest import make_key
from webapp import roles

pytestmark = pytest.mark.django_db

HUGE = 33 * 1024 * 1024


class CountingStream(io.RawIOBase):
    """A request body of ``size`` bytes that counts how much the server read."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.size - self.read_bytes)
        buffer[:n] = b"{" * n
        self.read_bytes += n
        return n


def _environ(stream: CountingStream) -> dict[str, Any]:
    return {"CONTENT_LENGTH": str(stream.size), "wsgi.input": stream}


def test_an_unauthenticated_huge_webhook_body_is_413_before_it_is_read(client: Client):
    webhook_source("scanner", "generic")
    stream = CountingStream(HUGE)
    response = client.generic(
        "POST",
        "/api/v1/webhooks/scanner",
        content_type="application/json",
        **_environ(stream),
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert stream.read_bytes == 0  # refused from its declared length, before the signature check


def test_a_huge_body_anywhere_on_the_api_is_413(client: Client):
    stream = CountingStream(HUGE)
    response = client.generic("POST", "/api/v1/signals/", content_type="application/json", **_environ(stream))
    assert (response.status_code, response.json()["code"]) == (413, "payload_too_large")
    assert stream.read_bytes == 0


@pytest.fixture
def detector(token_client):
    from incidents.models import SignalSourceClaim

    client = token_client("siem")
    SignalSourceClaim.objects.create(prefix="https://scanner.example", owner="principal:siem")
    return client


def _event(data: str) -> str:
    return (
        '{"specversion": "1.0", "id": "deep", "source": "https://scanner.example/x", "type": "leak", "data": '
        + data
        + "}"
    )


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,  # the whole body
        _event('{"keys": [{"alias": "a"}], "evidence": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}"),  # evidence
        _event('{"keys": [{"alias": "a"}], "evidence": ' + '{"a": ' * 60 + "1" + "}" * 60 + "}"),  # past the cap
    ],
    ids=["body", "evidence", "evidence-past-the-cap"],
)
def test_deeply_nested_json_is_400_with_few_log_lines(detector, body, caplog):
    make_key("local", KeyState.ACTIVE, alias="a")
    with caplog.at_level(logging.DEBUG):
        response = detector.post("/api/v1/signals/", body, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "malformed_request")
    assert "depth" in response.json()["detail"]
    assert len(caplog.records) < 10
    assert not any("RecursionError" in r.getMessage() or r.exc_info for r in caplog.records)
    assert not Signal.objects.exists()


@pytest.mark.parametrize("value", [2**63, -1, 0, 10**30])
def test_out_of_range_ids_on_key_creation_are_400(person_client, value):
    custodian = person_client("kc", roles.KEY_CUSTODIAN)
    response = custodian.post("/api/v1/keys/", {"alias": "k", "purpose": "p", "data_assets": [value]}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid_input")
    response = custodian.post("/api/v1/keys/", {"alias": "k", "purpose": "p", "systems": [value]}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid_input")


@pytest.mark.parametrize(
    "payload",
    [
        {"action": "created", "alert": {"number": 1, "secret": "00" * 32}, "repository": "acme/app"},
        {"action": "created", "alert": {"number": 1, "secret": ["00" * 32]}, "repository": {"full_name": "a/b"}},
        {"action": "created", "alert": "an alert", "repository": {"full_name": "a/b"}},
        {"action": ["created"], "alert": {"number": {"n": 1}, "secret": "00" * 32}, "repository": {"full_name": 5}},
        [1, 2, 3],
    ],
)
def test_malformed_github_shapes_are_typed_400s(client: Client, payload):
    secret = webhook_source("github", "github")
    body = json.dumps(payload).encode()
    response = client.post(
        "/api/v1/webhooks/github", body, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=signed(secret, body)
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid_webhook_payload"), response.content


@pytest.mark.parametrize(
    "payload",
    [
        {"id": "e", "detail-type": "x", "resources": 5},
        {"id": "e", "detail-type": "x", "resources": [], "detail": {"requestParameters": "keyId"}},
        {"id": {"nested": 1}, "detail-type": "x", "resources": ["arn:aws:kms:k"]},
        {"id": "e", "detail-type": ["x"], "resources": ["arn:aws:kms:k"]},
        {"id": "e", "detail-type": "x", "resources": ["arn:aws:kms:k"], "source": {"s": 1}},
        "a string",
    ],
)
def test_malformed_aws_shapes_are_typed_400s(client: Client, payload):
    secret = webhook_source("aws", "aws")
    body = json.dumps(payload).encode()
    response = client.post(
        "/api/v1/webhooks/aws",
        body,
        content_type="application/json",
        HTTP_X_SEQUESTER_SIGNATURE=signed_now(secret, body),
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid_webhook_payload"), response.content


@pytest.mark.parametrize(
    "body",
    [
        "[]",
        '{"payloads": 5}',
        '{"payloads": ["x"]}',
        '{"payloads": [{"metadata": "x", "data": ""}]}',
        '{"payloads": [{"metadata": {"encoding": 5}, "data": ""}]}',
        '{"payloads": [{"metadata": {}, "data": 5}]}',
        '{"payloads": [{"metadata": {}, "data": "not base64!"}]}',
        '{"payloads": [{"metadata": {"encoding": "'
        + base64.b64encode(b"binary/encrypted").decode()
        + '"}, "data": ""}]}',
        "[" * 50_000 + "]" * 50_000,
        "\xff",
    ],
)
def test_wrong_shapes_on_the_codec_are_400(client: Client, make_user, body):
    client.force_login(make_user("codec-commander", roles.COMMANDER))
    response = client.post("/api/temporal-codec/decode", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] in ("invalid_payloads", "malformed_request")


@pytest.mark.parametrize("path", ["/api/v1/nothing/", "/api/", "/api/v1/keys/not-a-uuid/", "/api/v2/keys/"])
def test_unknown_api_paths_answer_json_404(client: Client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "not_found"


def test_unknown_pages_stay_html(client: Client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
