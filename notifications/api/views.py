"""Notifications over the API: an incident's notifications (with previews), the commander's approval,
the party registry (read-only: it is kept in the admin)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents.services.incidents import incident_get
from keyvault.api.permissions import any_of
from notifications.models import Notification, Party
from notifications.selectors import notifications_of
from notifications.services.messages import notification_preview, notifications_approve
from webapp.api.actors import actor_from_request
from webapp.pagination import API_MAX_PAGE_SIZE, api_page

CanView = any_of("webapp.view_incidents")
CanRespond = any_of("webapp.respond_to_incidents")


def _when(moment: Any) -> str | None:
    return moment.isoformat() if moment else None


def notification_summary(notification: Notification) -> dict[str, Any]:
    preview = notification_preview(notification)
    return {
        "id": notification.pk,
        "key": notification.idempotency_key,
        "party": notification.party.name,
        "role": notification.party.role,
        "audience": notification.audience,
        "status": notification.status,
        "subject": preview.subject,
        "body": preview.body,
        "approved_by": notification.approved_by or None,
        "sent_at": _when(notification.sent_at),
        "ack_due_at": _when(notification.ack_due_at),
        "acked_at": _when(notification.acked_at),
        "acked_by": notification.acked_by or None,
        "reminders": notification.reminders_sent,
        "escalated_at": _when(notification.escalated_at),
        "deliveries": [
            {
                "channel": d.channel.kind,
                "purpose": d.purpose,
                "sequence": d.sequence,
                "status": d.status,
                "attempts": d.attempts,
                "sent_at": _when(d.sent_at),
                "error": d.last_error or None,
            }
            for d in notification.deliveries.all()
        ],
    }


class IncidentNotificationsApi(APIView):
    permission_classes = [CanView]

    @extend_schema(
        summary="An incident's notifications to parties, with each message as it will be (or was) sent",
        responses=OpenApiTypes.OBJECT,
        operation_id="incident_notifications_list",
    )
    def get(self, request: Request, reference: str) -> Response:
        incident = incident_get(reference)
        return Response({"results": [notification_summary(n) for n in notifications_of(incident)]})


class IncidentNotificationsApproveApi(APIView):
    permission_classes = [CanView]

    @extend_schema(
        summary="Approve the incident's draft notifications (the commander, after previewing them)",
        request=None,
        responses=OpenApiTypes.OBJECT,
        operation_id="incident_notifications_approve",
    )
    def post(self, request: Request, reference: str) -> Response:
        approved = notifications_approve(reference=reference, user=request.user, actor=actor_from_request(request))
        return Response({"approved": [n.idempotency_key for n in approved]})


class PartyListApi(APIView):
    permission_classes = [CanRespond]

    @extend_schema(
        summary="The party registry, by name, a page at a time (?role=, ?kind=)",
        description=f"?page_size= (at most {API_MAX_PAGE_SIZE}); the cursor is in next/previous.",
        responses=OpenApiTypes.OBJECT,
        operation_id="parties_list",
    )
    def get(self, request: Request) -> Response:
        parties = Party.objects.prefetch_related("channels", "keys", "systems", "data_assets")
        if role := request.query_params.get("role"):
            parties = parties.filter(role=role)
        if kind := request.query_params.get("kind"):
            parties = parties.filter(kind=kind)
        return api_page(request=request, view=self, queryset=parties, ordering=("name", "id"), present=_parties_json)


def _parties_json(parties: list[Party]) -> list[dict[str, Any]]:
    return [
        {
            "name": p.name,
            "kind": p.kind,
            "role": p.role,
            "ack_sla_minutes": p.ack_sla_minutes,
            "reminders": p.reminders,
            "every_incident": p.every_incident,
            "active": p.active,
            "channels": sorted({c.kind for c in p.channels.all() if c.active}),
            "keys": [str(k.id) for k in p.keys.all()],
            "systems": [s.name for s in p.systems.all()],
            "data_assets": [a.name for a in p.data_assets.all()],
        }
        for p in parties
    ]
