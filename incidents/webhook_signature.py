"""The detectors' webhook signature (generic and AWS sources), Django-free so a detector can copy it:

    X-Sequester-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>

The timestamp is inside the MAC, and a signature older or newer than ``TOLERANCE_SECONDS`` is refused:
a captured request cannot be replayed later (within the window the event id deduplicates it).
GitHub's ``X-Hub-Signature-256`` (the body alone) cannot carry a timestamp: see docs/detector-webhooks.md.
"""

from __future__ import annotations

import hashlib
import hmac

TOLERANCE_SECONDS = 300
HEADER = "X-Sequester-Signature"
VERSION = "v1"


class SignatureInvalid(ValueError):
    """Missing, malformed or wrong."""


class SignatureStale(ValueError):
    """Right, but dated outside the tolerance window."""


def signature_mac(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: bytes, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},{VERSION}={signature_mac(secret, timestamp, body)}"


def _parts(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    macs: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif name == VERSION and value:
            macs.append(value)
    if timestamp is None or not macs:
        raise SignatureInvalid(f"the signature must be 't=<unix seconds>,{VERSION}=<hex HMAC-SHA256>'")
    return timestamp, macs


def signature_verify(secret: bytes, body: bytes, header: str | None, *, now: float) -> int:
    """Return the signed timestamp, or raise ``SignatureInvalid`` / ``SignatureStale``. The MAC is
    checked first, so "stale" is only ever said of a genuinely signed request."""
    if not header:
        raise SignatureInvalid(f"the {HEADER} header is missing")
    timestamp, macs = _parts(header)
    expected = signature_mac(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, mac) for mac in macs):
        raise SignatureInvalid("the request's HMAC signature is wrong")
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        raise SignatureStale(
            f"the signature is dated {int(now - timestamp)} s from now; at most ±{TOLERANCE_SECONDS} s is accepted"
        )
    return timestamp
