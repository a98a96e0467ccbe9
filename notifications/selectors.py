"""Reads: the parties an incident's blast radius selects, an incident's notifications, a user's inbox."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from incidents.models import Incident
from keyvault.services.blast_radius import BlastRadius, key_blast_radius
from notifications.models import Notification, Party


def incident_radius(incident: Incident) -> BlastRadius:
    return key_blast_radius(incident.incident_keys.order_by("added_at").values_list("key_id", flat=True))


def parties_for_incident(incident: Incident, radius: BlastRadius | None = None) -> list[Party]:
    """Active parties related to a key, system or data asset in the blast radius, or told of every incident.
    An exercise tells the parties marked as exercise recipients, and nobody else."""
    if incident.exercise:
        return list(Party.objects.filter(active=True, exercise_recipient=True).order_by("name"))
    radius = radius or incident_radius(incident)
    related = (
        Q(every_incident=True)
        | Q(keys__id__in=radius.keys)
        | Q(systems__name__in=radius.systems)
        | Q(data_assets__id__in=[asset.id for asset in radius.data_assets])
    )
    return list(Party.objects.filter(active=True).filter(related).distinct().order_by("name"))


def notifications_of(incident: Incident) -> QuerySet[Notification]:
    return (
        Notification.objects.filter(incident=incident)
        .select_related("party")
        .prefetch_related("deliveries__channel")
        .order_by("party__name", "message")
    )


def inbox_for(user: Any) -> QuerySet[Notification]:
    """Notifications sent to the internal parties ``user`` belongs to, through the inbox channel."""
    return (
        Notification.objects.filter(
            party__members=user,
            deliveries__channel__kind="inbox",
            deliveries__status="sent",
        )
        .select_related("party", "incident")
        .distinct()
        .order_by("-sent_at")
    )
