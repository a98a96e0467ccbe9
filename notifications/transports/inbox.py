"""The Sequester inbox: the notification is stored already; its party's members read it in the UI."""

from __future__ import annotations

from notifications.models import Channel
from notifications.transports.base import Outgoing


class InboxTransport:
    def send(self, channel: Channel, outgoing: Outgoing) -> list[str]:
        return [f"inbox:{channel.party.name}"]
