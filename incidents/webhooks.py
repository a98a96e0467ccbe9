"""Webhook receivers: verify the sender's HMAC, then turn its shape into a compromise event.

- generic: ``X-Sequester-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``
  (``incidents.webhook_signature``); the body is a CloudEvent whose ``source`` the webhook owns.
- github: ``X-Hub-Signature-256`` (GitHub's scheme, the body alone); a ``secret_scanning_alert`` names
  the leaked value, which is turned into its key fingerprint and then dropped — never stored.
- aws: ``X-Sequester-Signature`` as for generic (signed by the relay that forwards EventBridge events);
  an EventBridge event (e.g. a CloudTrail or GuardDuty finding) names keys by ARN in ``resources``.

Every shape is checked field by field: a wrong type is a 400 ``invalid_webhook_payload``, never a 500.
The sender is the webhook source: deduplication is per source, see ``incidents.senders``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

from django.conf import settings

from incidents.cloudevents import MAX_KEYS, CompromiseEvent, KeyReference, parse, scrub
from incidents.errors import BadSignature, InvalidWebhookPayload, StaleSignature, UnknownWebhookSource
from incidents.models import Severity, WebhookSource
from incidents.senders import Sender
from incidents.webhook_signature import SignatureInvalid, SignatureStale, signature_verify
from keyvault.backends.local import fingerprint_of
from webapp.api.json_input import json_loads_bounded
from webapp.errors import PayloadTooLarge
from webapp.sealing import seal, unseal

SEAL_PURPOSE = "webhook"
GITHUB_HEADER = "X-Hub-Signature-256"
TEXT_LIMIT = 300


def webhook_secret_seal(name: str, secret: bytes) -> bytes:
    return seal(SEAL_PURPOSE, secret, context=name.encode())


def webhook_source_get(name: str) -> WebhookSource:
    source = WebhookSource.objects.filter(name=name, active=True).first()
    if source is None:
        raise UnknownWebhookSource(f"no active webhook source {name!r}")
    return source


def webhook_sender(source: WebhookSource) -> Sender:
    return Sender.webhook(source.name, source.kind)


def _secret(source: WebhookSource) -> bytes:
    return unseal(SEAL_PURPOSE, bytes(source.secret_sealed), context=source.name.encode())


def _verify_github(source: WebhookSource, body: bytes, presented: str | None) -> None:
    expected = "sha256=" + hmac.new(_secret(source), body, hashlib.sha256).hexdigest()
    if not presented or not hmac.compare_digest(expected, presented.strip()):
        raise BadSignature(f"the request's {GITHUB_HEADER} signature is missing or wrong")


def _verify_timestamped(source: WebhookSource, body: bytes, presented: str | None) -> None:
    try:
        signature_verify(_secret(source), body, presented, now=time.time())
    except SignatureStale as exc:
        raise StaleSignature(str(exc)) from None
    except SignatureInvalid as exc:
        raise BadSignature(str(exc)) from None


# --- typed reading of the senders' shapes -----------------------------------------------------------
def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidWebhookPayload(f"{where} must be a JSON object", field=where)
    return value


def _text(container: dict[str, Any], name: str, where: str, *, default: str | None = None) -> str:
    value = container.get(name, default)
    if not isinstance(value, str) or not value.strip():
        raise InvalidWebhookPayload(f"{where}.{name} must be a non-empty string", field=f"{where}.{name}")
    if len(value) > TEXT_LIMIT:
        raise InvalidWebhookPayload(f"{where}.{name} is longer than {TEXT_LIMIT}", field=f"{where}.{name}")
    return value.strip()


def _optional_text(container: dict[str, Any], name: str, where: str) -> str | None:
    return None if container.get(name) is None else _text(container, name, where)


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


def _github(payload: Any, delivery: str | None) -> CompromiseEvent:
    payload = _object(payload, "payload")
    alert = _object(payload.get("alert"), "alert")
    repository = _text(_object(payload.get("repository"), "repository"), "full_name", "repository")
    action = _text(payload, "action", "payload", default="created")
    number = alert.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or not 0 < number < 2**63:
        raise InvalidWebhookPayload("alert.number must be a positive integer", field="alert.number")
    secret = alert.get("secret")
    if not isinstance(secret, str) or len(secret) > 10_000:
        raise InvalidWebhookPayload("alert.secret must be a string (the leaked value)", field="alert.secret")
    references = [KeyReference("fingerprint", fingerprint_of(raw)) for raw in _aes_key_candidates(secret)]
    if not references:
        raise InvalidWebhookPayload(
            "the alert's secret is not key material this service can fingerprint", field="alert.secret"
        )
    evidence = {k: _optional_text(alert, k, "alert") for k in ("html_url", "secret_type", "created_at", "state")}
    evidence["number"] = number  # type: ignore[assignment]
    if delivery:
        evidence["delivery"] = delivery[:100]  # X-GitHub-Delivery: not signed, kept for the record only
    return CompromiseEvent(
        id=f"{repository}/{number}",
        source=f"github:{repository}",
        type=f"com.github.secret_scanning_alert.{action}"[:TEXT_LIMIT],
        time=None,
        keys=references,
        severity=Severity.CRITICAL,
        evidence=scrub(evidence),
        title=f"Secret scanning alert in {repository}",
    )


def _aws(payload: Any) -> CompromiseEvent:
    payload = _object(payload, "event")
    event_id = _text(payload, "id", "event")
    detail_type = _text(payload, "detail-type", "event")
    origin = _text(payload, "source", "event", default="unknown")
    resources = payload.get("resources", [])
    if not isinstance(resources, list) or not all(isinstance(r, str) and 0 < len(r) <= TEXT_LIMIT for r in resources):
        raise InvalidWebhookPayload("event.resources must be a list of ARNs (strings)", field="event.resources")
    detail = _object(payload.get("detail", {}), "event.detail")
    parameters = _object(detail.get("requestParameters") or {}, "event.detail.requestParameters")
    key_id = _optional_text(parameters, "keyId", "event.detail.requestParameters")
    named = list(dict.fromkeys([*resources, *([key_id] if key_id else [])]))
    if not named:
        raise InvalidWebhookPayload("the event names no key resource", field="event.resources")
    if len(named) > MAX_KEYS:
        raise InvalidWebhookPayload(f"at most {MAX_KEYS} keys per event", field="event.resources")
    evidence = {
        "account": _optional_text(payload, "account", "event"),
        "region": _optional_text(payload, "region", "event"),
        "detail": detail,
    }
    return CompromiseEvent(
        id=event_id,
        source=f"aws:{origin}",
        type=detail_type,
        time=None,
        keys=[KeyReference("backend_ref", r) for r in named],
        severity=Severity.HIGH,
        evidence=scrub(evidence),
        title=detail_type,
    )


def webhook_body_check(length: int) -> None:
    """Refuse a body over the webhook limit from its declared length, before reading it."""
    limit = settings.SEQUESTER_SIGNAL_WEBHOOK_MAX_BYTES
    if length > limit:
        raise PayloadTooLarge(f"a webhook body is at most {limit} bytes", limit=limit)


def webhook_event(*, source: WebhookSource, body: bytes, headers: Mapping[str, str]) -> CompromiseEvent:
    """``headers``: case-insensitive (Django's ``request.headers``)."""
    if source.kind == WebhookSource.Kind.GITHUB:
        _verify_github(source, body, headers.get(GITHUB_HEADER))
    else:
        _verify_timestamped(source, body, headers.get("X-Sequester-Signature"))
    payload = json_loads_bounded(body)
    if source.kind == WebhookSource.Kind.GITHUB:
        return _github(payload, headers.get("X-GitHub-Delivery"))
    if source.kind == WebhookSource.Kind.AWS:
        return _aws(payload)
    return parse(payload)
