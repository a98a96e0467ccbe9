"""Signed webhooks (Standard Webhooks). A 2xx is delivered; 408, 429, 5xx and network errors are worth a
retry (the activity's retry policy backs off); any other status is permanent."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from django.conf import settings

from notifications import standard_webhooks
from notifications.models import Channel
from notifications.services.secrets import channel_secret
from notifications.transports.base import Outgoing, TransportError

RETRYABLE_STATUSES = {408, 425, 429}


class WebhookTransport:
    def send(self, channel: Channel, outgoing: Outgoing) -> list[str]:
        body = json.dumps(outgoing.payload, separators=(",", ":"), sort_keys=True).encode()
        headers = standard_webhooks.headers(channel_secret(channel), outgoing.message_id, int(time.time()), body)
        headers["user-agent"] = "Sequester-Webhooks/1"
        request = urllib.request.Request(channel.url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=settings.SEQUESTER_WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            permanent = exc.code < 500 and exc.code not in RETRYABLE_STATUSES
            raise TransportError(f"{channel.url} answered {exc.code}", permanent=permanent) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise TransportError(f"{channel.url}: {exc}", permanent=False) from exc
        if not 200 <= status < 300:
            raise TransportError(f"{channel.url} answered {status}", permanent=False)
        return [channel.url]
