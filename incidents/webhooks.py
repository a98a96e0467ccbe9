"""Webhook receivers: verify the sender's HMAC, then turn its shape into a compromise event.

- generic: ``X-Sequester-Signature: sha256=<hex HMAC-SHA256(secret, body)>``; the body is a CloudEvent.
- github: ``X-Hub-Signature-256`` (GitHub's scheme); a ``secret_scanning_alert`` names the leaked value,
  which is turned into its key fingerprint and then dropped — never stored.
- aws: ``X-Sequester-Signature`` (set by the EventBridge API destination's connection); an EventBridge
  event (e.g. a CloudTrail or GuardDuty finding) names keys by ARN in ``resources``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from incidents.cloudevents import CompromiseEvent, KeyReference, parse, scrub
from incidents.errors import BadSignature, InvalidCloudEvent, UnknownWebhookSource
from incidents.models import Severity, WebhookSource
from keyvault.backends.local import fingerprint_of
from webapp.sealing import seal, unseal

SEAL_PURPOSE = "webhook"


def webhook_secret_seal(name: str, secret: bytes) -> bytes:
    return seal(SEAL_PURPOSE, secret, context=name.encode())


def _source(name: str) -> WebhookSource:
    source = WebhookSource.objects.filter(name=name, active=True).first()
    if source is None:
        raise UnknownWebhookSource(f"no active webhook source {name!r}")
    return source


def _verify(source: WebhookSource, body: bytes, presented: str | None) -> None:
    secret = unseal(SEAL_PURPOSE, bytes(source.secret_sealed), context=source.name.encode())
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    if not presented or not hmac.compare_digest(expected, presented.strip()):
        raise BadSignature("the request's HMAC signature is missing or wrong")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidCloudEvent("the body is not JSON") from None


def _from_base64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _aes_key_candidates(secret: str) -> list[bytes]:
    """The leaked value as AES key bytes (hex or base64), when it is one."""
    candidates = []
    for decode in (bytes.fromhex, _from_base64):
        try:
            raw = decode(secret.strip())
        except (ValueError, binascii.Error):
            continue
        if len(raw) in (16, 24, 32):
            candidates.append(raw)
    return candidates


def _github(payload: Any, source: WebhookSource) -> CompromiseEvent:
    if not isinstance(payload, dict) or not isinstance(payload.get("alert"), dict):
        raise InvalidCloudEvent("not a GitHub secret_scanning_alert payload")
    alert = payload["alert"]
    repository = (payload.get("repository") or {}).get("full_name", "unknown")
    secret = alert.get("secret")
    references = (
        [KeyReference("fingerprint", fingerprint_of(raw)) for raw in _aes_key_candidates(secret)]
        if isinstance(secret, str)
        else []
    )
    if not references:
        raise InvalidCloudEvent("the alert's secret is not key material this service can fingerprint")
    return CompromiseEvent(
        id=f"{repository}/{alert.get('number')}",
        source=f"github:{repository}",
        type=f"com.github.secret_scanning_alert.{payload.get('action', 'created')}",
        time=None,
        keys=references,
        severity=Severity.CRITICAL,
        evidence=scrub({k: alert.get(k) for k in ("number", "html_url", "secret_type", "created_at", "state")}),
        title=f"Secret scanning alert in {repository}",
    )


def _aws(payload: Any, source: WebhookSource) -> CompromiseEvent:
    if not isinstance(payload, dict) or "detail-type" not in payload or "id" not in payload:
        raise InvalidCloudEvent("not an EventBridge event (id, source, detail-type, resources)")
    resources = [r for r in payload.get("resources", []) if isinstance(r, str)]
    detail = payload.get("detail") if isinstance(payload.get("detail"), dict) else {}
    key_id = (detail.get("requestParameters") or {}).get("keyId") if isinstance(detail, dict) else None
    if isinstance(key_id, str):
        resources.append(key_id)
    if not resources:
        raise InvalidCloudEvent("the event names no key resource")
    return CompromiseEvent(
        id=str(payload["id"]),
        source=f"aws:{payload.get('source', 'unknown')}",
        type=str(payload["detail-type"]),
        time=None,
        keys=[KeyReference("backend_ref", r) for r in dict.fromkeys(resources)],
        severity=Severity.HIGH,
        evidence=scrub({"account": payload.get("account"), "region": payload.get("region"), "detail": detail}),
        title=str(payload["detail-type"])[:300],
    )


def webhook_event(*, name: str, body: bytes, headers: dict[str, str]) -> CompromiseEvent:
    source = _source(name)
    header = "X-Hub-Signature-256" if source.kind == WebhookSource.Kind.GITHUB else "X-Sequester-Signature"
    _verify(source, body, headers.get(header))
    payload = _json(body)
    if source.kind == WebhookSource.Kind.GITHUB:
        return _github(payload, source)
    if source.kind == WebhookSource.Kind.AWS:
        return _aws(payload, source)
    return parse(payload)
