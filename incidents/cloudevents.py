"""CloudEvents 1.0 (structured JSON mode) for compromise signals, validated strictly.

``data`` names keys by id, alias, backend reference or fingerprint:

    {"keys": [{"fingerprint": "…"}, {"alias": "payments"}], "severity": "high",
     "evidence": {"url": "…"}, "title": "…"}

A single ``"key": {…}`` is accepted too. Evidence keeps no secret: values under names such as
``secret``, ``token``, ``password`` or ``private_key`` are dropped before anything is stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from incidents.errors import InvalidCloudEvent
from incidents.models import Severity

REFERENCE_KINDS = ("id", "alias", "backend_ref", "fingerprint")
SECRET_NAMES = ("secret", "token", "password", "passwd", "private_key", "key_material", "plaintext", "credential")
MAX_KEYS = 10_000
MAX_EVIDENCE_BYTES = 64 * 1024  # evidence is a pointer to the leak, not the leak: stored with the signal


@dataclass(frozen=True, slots=True)
class KeyReference:
    kind: str
    value: str

    def as_dict(self) -> dict[str, str]:
        return {self.kind: self.value}


@dataclass(frozen=True, slots=True)
class CompromiseEvent:
    id: str
    source: str
    type: str
    time: datetime | None
    keys: list[KeyReference]
    severity: str
    evidence: dict[str, Any] = field(default_factory=dict)
    title: str = ""


def _text(event: dict[str, Any], name: str, *, limit: int = 300) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidCloudEvent(f"the CloudEvent attribute {name!r} is required (a non-empty string)", attribute=name)
    if len(value) > limit:
        raise InvalidCloudEvent(f"the CloudEvent attribute {name!r} is longer than {limit}", attribute=name)
    return value.strip()


def scrub(value: Any) -> Any:
    """Drop anything secret-looking from evidence, recursively."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if not any(word in str(k).lower() for word in SECRET_NAMES)}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def key_reference(entry: Any) -> KeyReference:
    if not isinstance(entry, dict) or len(entry) != 1:
        raise InvalidCloudEvent('each key is named by exactly one of {"id"|"alias"|"backend_ref"|"fingerprint": "…"}')
    ((kind, value),) = entry.items()
    if kind not in REFERENCE_KINDS or not isinstance(value, str) or not value.strip() or len(value) > 300:
        raise InvalidCloudEvent(f"unknown or empty key reference {kind!r}; use one of {', '.join(REFERENCE_KINDS)}")
    return KeyReference(kind, value.strip())


def parse(event: Any) -> CompromiseEvent:
    if not isinstance(event, dict):
        raise InvalidCloudEvent("the body must be a CloudEvent JSON object (structured mode)")
    if event.get("specversion") != "1.0":
        raise InvalidCloudEvent('specversion must be "1.0"', attribute="specversion")
    event_id, source, kind = _text(event, "id"), _text(event, "source"), _text(event, "type")
    content_type = event.get("datacontenttype", "application/json")
    if not isinstance(content_type, str) or not content_type.startswith("application/json"):
        raise InvalidCloudEvent("datacontenttype must be application/json", attribute="datacontenttype")
    moment = None
    if event.get("time") is not None:
        try:
            moment = datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))
        except ValueError:
            raise InvalidCloudEvent("time must be an RFC 3339 timestamp", attribute="time") from None
        if moment.tzinfo is None:
            raise InvalidCloudEvent("time must carry a time zone (RFC 3339)", attribute="time")
    data = event.get("data")
    if not isinstance(data, dict):
        raise InvalidCloudEvent("data must be a JSON object naming the keys", attribute="data")
    entries = data.get("keys", [data["key"]] if "key" in data else None)
    if not isinstance(entries, list) or not entries:
        raise InvalidCloudEvent('data names the compromised keys in "keys" (a list) or "key"', attribute="data")
    if len(entries) > MAX_KEYS:
        raise InvalidCloudEvent(f"at most {MAX_KEYS} keys per signal", attribute="data")
    severity = data.get("severity", Severity.HIGH)
    if severity not in Severity.values:
        raise InvalidCloudEvent(f"severity must be one of {', '.join(Severity.values)}", attribute="data.severity")
    evidence = data.get("evidence", {})
    if not isinstance(evidence, dict):
        raise InvalidCloudEvent("data.evidence must be an object", attribute="data.evidence")
    if len(json.dumps(evidence, default=str)) > MAX_EVIDENCE_BYTES:
        raise InvalidCloudEvent(f"data.evidence is larger than {MAX_EVIDENCE_BYTES} bytes", attribute="data.evidence")
    title = data.get("title", "")
    return CompromiseEvent(
        id=event_id,
        source=source,
        type=kind,
        time=moment,
        keys=list(dict.fromkeys(key_reference(entry) for entry in entries)),
        severity=str(severity),
        evidence=scrub(evidence),
        title=str(title)[:300] if isinstance(title, str) else "",
    )
