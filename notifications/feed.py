"""The public key-status feed: suspended and compromised keys by fingerprint (like a revocation list),
signed with the deployment's Ed25519 signing key (the one published at
/.well-known/sequester-audit-key.json; a feed statement names its own format, so it can never pass for
an audit checkpoint). The document depends only on the keys' states, so its ETag changes only with them."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import reverse

from audit.offline_verifier import canonical_json
from audit.signing import sign, signing_key_id
from keyvault.models import ManagedKey
from notifications.key_status import LISTED_STATES, key_status

FEED_FORMAT = "sequester.key-status/1"


@dataclass(frozen=True, slots=True)
class SignedFeed:
    document: dict[str, Any]
    body: bytes
    etag: str


def feed_statement(feed: dict[str, Any]) -> bytes:
    """What the signature covers: the canonical JSON (sorted keys, no spaces, UTF-8) of ``feed``."""
    return canonical_json(feed)


def key_status_feed() -> SignedFeed:
    keys = (
        ManagedKey.objects.filter(state__in=[s.value for s in LISTED_STATES], exercise=False)  # drills stay home
        .prefetch_related("versions", "replaced_by__versions")
        .order_by("state_changed_at", "id")
    )
    entries = sorted((key_status(key) for key in keys), key=lambda e: (e["since"], e["fingerprints"]))
    base = settings.SEQUESTER_BASE_URL.rstrip("/")
    feed = {
        "format": FEED_FORMAT,
        "issuer": base,
        "public_key_url": base + reverse("audit-key"),
        "updated_at": max((e["since"] for e in entries), default=None),
        "keys": entries,
    }
    statement = feed_statement(feed)
    document = {
        "feed": feed,
        "signature": {"algorithm": "Ed25519", "key_id": signing_key_id(), "value": sign(statement)},
    }
    body = canonical_json(document)
    etag = '"' + base64.urlsafe_b64encode(hashlib.sha256(statement).digest()[:18]).decode() + '"'
    return SignedFeed(document=document, body=body, etag=etag)


def etag_matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison against an If-None-Match list (or ``*``)."""
    if not if_none_match:
        return False
    candidates = [c.strip() for c in if_none_match.split(",")]
    return "*" in candidates or any(c.removeprefix("W/") == etag for c in candidates)
