"""Signed webhooks (Standard Webhooks). A 2xx is delivered; 408, 425, 429, 5xx and network errors are worth
a retry (the activity's retry policy backs off); any other status — a redirect included, never followed —
and a URL or address the worker may not reach (``notifications.outbound``) are permanent."""

from __future__ import annotations

import http.client
import json
import time

from django.conf import settings

from notifications import standard_webhooks
from notifications.models import Channel
from notifications.outbound import OutboundRefused, outbound_post
from notifications.services.secrets import channel_secret
from notifications.transports.base import Outgoing, TransportError

RETRYABLE_STATUSES = {408, 425, 429}


class WebhookTransport:
    def send(self, channel: Channel, outgoing: Outgoing) -> list[str]:
        body = json.dumps(outgoing.payload, separators=(",", ":"), sort_keys=True).encode()
        headers = standard_webhooks.headers(channel_secret(channel), outgoing.message_id, int(time.time()), body)
        headers["user-agent"] = "Sequester-Webhooks/1"
        try:
            status = outbound_post(channel.url, body, headers, timeout=settings.SEQUESTER_WEBHOOK_TIMEOUT_SECONDS)
        except OutboundRefused as exc:
            raise TransportError(f"{channel.url}: {exc}", permanent=True) from exc
        except OSError as exc:  # refused, reset, timed out, TLS, DNS
            raise TransportError(f"{channel.url}: {exc}", permanent=False) from exc
        except http.client.HTTPException as exc:  # a malformed answer
            raise TransportError(f"{channel.url}: {type(exc).__name__}: {exc}", permanent=False) from exc
        if 200 <= status < 300:
            return [channel.url]
        if 300 <= status < 400:
            raise TransportError(f"{channel.url} answered {status}: redirects are not followed", permanent=True)
        permanent = status < 500 and status not in RETRYABLE_STATUSES
        raise TransportError(f"{channel.url} answered {status}", permanent=permanent)
