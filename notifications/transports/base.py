"""What every channel gets, and the one error it raises (saying whether a retry can help)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from notifications.models import Channel


@dataclass(frozen=True, slots=True)
class Outgoing:
    message_id: str  # the delivery's: webhook-id, Message-ID (receivers deduplicate on it)
    subject: str
    body: str  # text, ack link filled in
    payload: dict[str, Any]  # the webhook's JSON
    recipients: list[str]  # email addresses (the email channel)


class TransportError(Exception):
    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


class Transport(Protocol):
    def send(self, channel: Channel, outgoing: Outgoing) -> list[str]:
        """Deliver; return who or what received it. Raise TransportError on failure."""
        ...
