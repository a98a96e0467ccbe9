"""The public key-status feed: signed with the published Ed25519 key, verifiable offline, no secrets,
ETag / If-None-Match."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.test import Client

from audit.actors import Actor
from keyvault.models import KeyVersion
from keyvault.services import lifecycle

pytestmark = pytest.mark.django_db


def _verify(document: dict[str, Any], public_key_b64: str) -> None:
    """As the docs tell a consumer to: canonical JSON of ``feed``, Ed25519, the published key."""
    statement = json.dumps(document["feed"], sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
    key.verify(base64.b64decode(document["signature"]["value"]), statement)


def test_the_feed_lists_contained_keys_by_fingerprint_signed_with_the_published_key(case):
    client = Client()
    published = client.get("/.well-known/sequester-audit-key.json").json()
    response = client.get("/.well-known/sequester-key-status.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    document = json.loads(response.content)
    _verify(document, published["public_key"])
    assert document["signature"]["key_id"] == published["key_id"]

    feed = document["feed"]
    assert feed["format"] == "sequester.key-status/1"
    (entry,) = feed["keys"]
    fingerprint = KeyVersion.objects.get(key=case.key).fingerprint
    assert entry["fingerprints"] == [fingerprint]
    assert entry["state"] == "suspended"
    assert entry["replacement_fingerprint"] == ""
    assert case.key.alias not in response.content.decode()  # fingerprints only: no names, no material
    assert str(case.key.id) not in response.content.decode()

    tampered = json.loads(response.content)
    tampered["feed"]["keys"][0]["state"] = "active"
    with pytest.raises(InvalidSignature):
        _verify(tampered, published["public_key"])


def test_etag_and_if_none_match(case):
    client = Client()
    first = client.get("/.well-known/sequester-key-status.json")
    etag = first["ETag"]
    assert etag.startswith('"')
    assert client.head("/.well-known/sequester-key-status.json")["ETag"] == etag
    cached = client.get("/.well-known/sequester-key-status.json", HTTP_IF_NONE_MATCH=etag)
    assert cached.status_code == 304
    assert cached.content == b""
    assert (
        client.get("/.well-known/sequester-key-status.json", HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304
    )

    # Compromise and replacement change the document: a new ETag, the replacement's fingerprint.
    actor = Actor.system("tests")
    lifecycle.key_compromise(key_id=case.key.id, actor=actor, reason="confirmed", incident=case.incident.reference)
    replacement = lifecycle.key_replace(
        key_id=case.key.id, actor=actor, reason="replace", incident=case.incident.reference
    )
    changed = client.get("/.well-known/sequester-key-status.json", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    (entry,) = json.loads(changed.content)["feed"]["keys"]
    assert entry["state"] == "compromised"
    assert entry["replacement_fingerprint"] == KeyVersion.objects.get(key=replacement).fingerprint
