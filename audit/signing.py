"""The deployment's audit signing key (Ed25519): it signs checkpoints; its public half is published."""

from __future__ import annotations

import base64
import functools
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from audit.offline_verifier import key_id


@functools.cache
def _private_key(seed: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed)


def signing_key() -> Ed25519PrivateKey:
    seed = settings.SEQUESTER_AUDIT_SIGNING_KEY
    if not seed:
        raise ImproperlyConfigured("SEQUESTER_AUDIT_SIGNING_KEY (or _FILE) is not set: checkpoints cannot be signed")
    return _private_key(bytes(seed))


def public_key_raw() -> bytes:
    return signing_key().public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_b64() -> str:
    return base64.b64encode(public_key_raw()).decode()


def public_key_pem() -> str:
    return (
        signing_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def signing_key_id() -> str:
    return key_id(public_key_raw())


def sign(statement: bytes) -> str:
    return base64.b64encode(signing_key().sign(statement)).decode()


def published_public_keys() -> list[bytes]:
    """Every checkpoint key of this deployment: the current one, then those earlier checkpoints were
    signed with (rotation keeps them verifiable). What ``/.well-known/sequester-audit-key.json`` lists."""
    return [base64.b64decode(entry["public_key"]) for entry in published_key_entries()]


def published_key_entries() -> list[dict[str, Any]]:
    from django.db.models import Count, Max, Min

    from audit.models import AuditCheckpoint

    current = {"key_id": signing_key_id(), "public_key": public_key_b64(), "current": True}
    entries = [current]
    used = (
        AuditCheckpoint.objects.values("key_id", "public_key")
        .annotate(first=Min("created_at"), last=Max("created_at"), checkpoints=Count("id"))
        .order_by("-last")
    )
    for row in used:
        if row["key_id"] == current["key_id"]:
            current |= {"first_checkpoint": row["first"].isoformat(), "last_checkpoint": row["last"].isoformat()}
            continue
        entries.append(
            {
                "key_id": row["key_id"],
                "public_key": row["public_key"],
                "current": False,
                "first_checkpoint": row["first"].isoformat(),
                "last_checkpoint": row["last"].isoformat(),
            }
        )
    return entries
