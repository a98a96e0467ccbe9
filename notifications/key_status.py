"""A key's public status: fingerprints, state, since when, its replacement's fingerprint (never material)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from audit.chain import timestamp
from keyvault.models import ManagedKey
from keyvault.states import KeyState

LISTED_STATES = (KeyState.SUSPENDED, KeyState.COMPROMISED, KeyState.DESTROYED_COMPROMISED)


def key_since(key: ManagedKey) -> datetime:
    if key.key_state == KeyState.SUSPENDED and key.suspended_at:
        return key.suspended_at
    if key.key_state == KeyState.COMPROMISED and key.compromise_discovered_at:
        return key.compromise_discovered_at
    return key.state_changed_at


def fingerprints(key: ManagedKey) -> list[str]:
    return [version.fingerprint for version in key.versions.all()]


def current_fingerprint(key: ManagedKey | None) -> str:
    if key is None:
        return ""
    versions = [v for v in key.versions.all() if v.version == key.current_version]
    return versions[0].fingerprint if versions else ""


def key_status(key: ManagedKey) -> dict[str, Any]:
    """What the feed and webhooks carry per key (prefetch ``versions`` and ``replaced_by__versions``)."""
    return {
        "fingerprints": fingerprints(key),
        "algorithm": key.algorithm,
        "state": key.state,
        "since": timestamp(key_since(key)),
        "replacement_fingerprint": current_fingerprint(key.replaced_by),
    }
