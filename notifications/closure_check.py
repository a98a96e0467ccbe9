"""The closure check notifications register: every message still waiting for its party's acknowledgement
(or not yet sent) is an open item of the incident."""

from __future__ import annotations

from incidents.models import Incident
from incidents.services.closure import OpenItem
from notifications.models import Notification

_OPEN = (
    Notification.Status.DRAFT,
    Notification.Status.APPROVED,
    Notification.Status.SENT,
    Notification.Status.ESCALATED,
)


def acknowledgements_open(incident: Incident) -> list[OpenItem]:
    return [
        OpenItem(
            "acknowledgements",
            str(notification.pk),
            f"{notification.party.name}: {notification.get_status_display().lower()}, not acknowledged",
            f"sent {notification.sent_at:%Y-%m-%d %H:%M} UTC" if notification.sent_at else "not sent yet",
        )
        for notification in Notification.objects.filter(incident=incident, status__in=_OPEN)
        .select_related("party")
        .order_by("party__name")
    ]
