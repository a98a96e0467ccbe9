"""The hash chain's rules. They live in ``audit/offline_verifier.py`` — one Django-free file that
auditors run on their own — so that the server writes events by exactly the rules the verifier checks."""

from __future__ import annotations

from audit.offline_verifier import (
    CONTENT_FIELDS,
    GENESIS_HASH,
    Problem,
    canonical_json,
    content_digest,
    event_hash,
    redacted,
    timestamp,
    verify_chain,
)

__all__ = [
    "CONTENT_FIELDS",
    "GENESIS_HASH",
    "Problem",
    "canonical_json",
    "content_digest",
    "event_hash",
    "redacted",
    "timestamp",
    "verify_chain",
]
