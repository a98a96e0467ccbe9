"""Channels behind one small interface: ``send(channel, outgoing)`` raising ``TransportError``."""

from __future__ import annotations

from notifications.models import Channel
from notifications.transports.base import Outgoing, Transport, TransportError
from notifications.transports.email import EmailTransport
from notifications.transports.inbox import InboxTransport
from notifications.transports.webhook import WebhookTransport

TRANSPORTS: dict[str, Transport] = {
    Channel.Kind.EMAIL: EmailTransport(),
    Channel.Kind.WEBHOOK: WebhookTransport(),
    Channel.Kind.INBOX: InboxTransport(),
}

__all__ = ["TRANSPORTS", "Outgoing", "Transport", "TransportError"]
