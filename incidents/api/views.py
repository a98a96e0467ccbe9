"""REST: signals and webhooks in (a contract), incidents and the commander's actions."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.actors import Actor
from incidents.cloudevents import parse
from incidents.presenters import incident_detail, incident_summary, incident_timeline_events, timeline_event
from incidents.selectors import INCIDENT_SORTS, IncidentFilters, incident_filters_parse, incidents_find
from incidents.senders import Sender
from incidents.services import incidents as incident_services
from incidents.services import ownership
from incidents.services.signals import SignalResult, signal_receive
from incidents.webhooks import webhook_body_check, webhook_event, webhook_sender, webhook_source_get
from keyvault.api.permissions import any_of
from webapp.api.actors import actor_from_request, client_ip
from webapp.api.parsers import BoundedJSONParser, CloudEventParser
from webapp.api.schema import ErrorOutput
from webapp.pagination import API_MAX_PAGE_SIZE, api_page

CanReport = any_of("webapp.report_signals")
CanView = any_of("webapp.view_incidents")
CanCommand = any_of("webapp.command_incidents")


def _signal_response(result: SignalResult) -> Response:
    body = {
        "incident": result.incident.reference,
        "incident_id": str(result.incident.id),
        "signal": str(result.signal.id),
        "duplicate": result.duplicate,
        "new_incident": result.incident_created,
        "suspended": len(result.suspended),
        "unresolved": result.unresolved,
    }
    return Response(body, status=status.HTTP_200_OK if result.duplicate else status.HTTP_202_ACCEPTED)


class SignalApi(APIView):
    permission_classes = [CanReport]
    parser_classes = [BoundedJSONParser, CloudEventParser]

    @extend_schema(
        summary="A compromise signal (CloudEvents 1.0, structured JSON): the keys are suspended before the answer",
        request=OpenApiTypes.OBJECT,
        responses={202: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT, 422: ErrorOutput},
    )
    def post(self, request: Request) -> Response:
        event = parse(request.data)
        actor = actor_from_request(request)
        sender = Sender.principal(request.user.get_username())
        return _signal_response(signal_receive(event=event, via="api", actor=actor, sender=sender))


class WebhookApi(APIView):
    """Detectors authenticate with the HMAC of the body (and its timestamp), not a session or token."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="A detector's webhook (generic CloudEvent, GitHub secret scanning, AWS EventBridge), HMAC-verified",
        description="See docs/detector-webhooks.md: the signature, the replay window, the sources a sender owns.",
        request=OpenApiTypes.OBJECT,
        responses={
            202: OpenApiTypes.OBJECT,
            200: OpenApiTypes.OBJECT,
            401: ErrorOutput,
            403: ErrorOutput,
            422: ErrorOutput,
        },
    )
    def post(self, request: Request, name: str) -> Response:
        webhook_body_check(int(request.META.get("CONTENT_LENGTH") or 0))  # before reading the body
        source = webhook_source_get(name)
        event = webhook_event(source=source, body=request.body, headers=request.headers)
        actor = Actor(name=f"webhook:{name}", type="service", source_ip=client_ip(request))
        sender = webhook_sender(source)
        return _signal_response(signal_receive(event=event, via=f"webhook:{name}", actor=actor, sender=sender))


def _incident_filters(request: Request) -> IncidentFilters:
    filters = incident_filters_parse(request.query_params, strict=True)
    if request.query_params.get("mine") in ("1", "true"):
        filters = replace(filters, commander_id=request.user.pk)
    return filters


class IncidentListApi(APIView):
    permission_classes = [CanView]

    @extend_schema(
        operation_id="incidents_list",
        summary="Incidents, one page at a time (cursor in next/previous)",
        description=(
            "Filters: ?status=open|closed, ?severity=, ?step=, ?opened_from=YYYY-MM-DD, ?opened_to=YYYY-MM-DD "
            "(inclusive), ?key=<key id or alias>, ?party=<party name notified>, ?commander=<username>, ?mine=1, "
            "?unassigned=1 (open, waiting for a commander). "
            f"Sort: ?sort={'|'.join(INCIDENT_SORTS)}. Page size: ?page_size= (at most {API_MAX_PAGE_SIZE})."
        ),
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        filters = _incident_filters(request)
        return api_page(
            request=request,
            view=self,
            queryset=incidents_find(filters),
            ordering=filters.ordering,
            present=lambda rows: [incident_summary(i) for i in rows],
        )


class IncidentDetailApi(APIView):
    permission_classes = [CanView]

    @extend_schema(
        summary="One incident: keys, blast radius, step, approvals, rewrap progress, the newest timeline events",
        description="The older timeline: GET …/timeline (paginated); timeline_older_than says whether there is more.",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, reference: str) -> Response:
        return Response(incident_detail(incident_services.incident_get(reference)))


class IncidentTimelineApi(APIView):
    permission_classes = [CanView]

    @extend_schema(
        operation_id="incident_timeline",
        summary="An incident's timeline (its audit events), newest first, a page at a time",
        description=f"?page_size= (at most {API_MAX_PAGE_SIZE}); the cursor is in next/previous.",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, reference: str) -> Response:
        incident = incident_services.incident_get(reference)
        return api_page(
            request=request,
            view=self,
            queryset=incident_timeline_events(incident.reference),
            ordering=("-seq",),
            present=lambda rows: [timeline_event(e) for e in rows],
        )


class AddKeysInput(serializers.Serializer[Any]):
    keys = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=10_000)
    reason = serializers.CharField(max_length=2000)


class AwarenessInput(serializers.Serializer[Any]):
    aware_at = serializers.DateTimeField()


class SeverityInput(serializers.Serializer[Any]):
    severity = serializers.ChoiceField(choices=["low", "medium", "high", "critical"])
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class NoteInput(serializers.Serializer[Any]):
    text = serializers.CharField(max_length=4000)


class CommanderInput(serializers.Serializer[Any]):
    commander = serializers.CharField(max_length=150, help_text="The username of a person with the commander role")
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class AdvanceInput(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=["request_close", "retry"])
    choice = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    waivers = serializers.DictField(
        child=serializers.CharField(max_length=2000, allow_blank=True),
        required=False,
        default=dict,
        help_text="Closure: check name → the reason an open item of that check is waived",
    )


def _valid(serializer_class: type[serializers.Serializer[Any]], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class IncidentKeysApi(APIView):
    permission_classes = [CanCommand]

    @extend_schema(
        summary="Add keys: contained at once, then restricted by the playbook",
        request=AddKeysInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request, reference: str) -> Response:
        data = _valid(AddKeysInput, request)
        added = incident_services.incident_add_keys(
            reference=reference, key_ids=data["keys"], actor=actor_from_request(request), reason=data["reason"]
        )
        return Response({"added": [str(k) for k in added]})


class IncidentAwarenessApi(APIView):
    permission_classes = [CanCommand]

    @extend_schema(
        summary="Record when the organisation became aware (starts regulatory clocks)",
        request=AwarenessInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request, reference: str) -> Response:
        aware_at: datetime = _valid(AwarenessInput, request)["aware_at"]
        incident = incident_services.incident_record_awareness(
            reference=reference, aware_at=aware_at, actor=actor_from_request(request)
        )
        return Response(incident_summary(incident))


class IncidentSeverityApi(APIView):
    permission_classes = [CanCommand]

    @extend_schema(summary="Change the severity", request=SeverityInput, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, reference: str) -> Response:
        data = _valid(SeverityInput, request)
        incident = incident_services.incident_change_severity(
            reference=reference, severity=data["severity"], actor=actor_from_request(request), reason=data["reason"]
        )
        return Response(incident_summary(incident))


class IncidentCommanderApi(APIView):
    permission_classes = [CanCommand]

    @extend_schema(
        summary="Assign (or take) the incident's commander: audited; the new and the previous commander are mailed",
        request=CommanderInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request, reference: str) -> Response:
        data = _valid(CommanderInput, request)
        incident = ownership.incident_assign_commander(
            reference=reference,
            commander=data["commander"],
            by=request.user,
            actor=actor_from_request(request),
            reason=data["reason"],
        )
        return Response(incident_summary(incident))


class IncidentNoteApi(APIView):
    permission_classes = [any_of("webapp.command_incidents", "webapp.respond_to_incidents")]

    @extend_schema(summary="Add a note to the timeline", request=NoteInput, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, reference: str) -> Response:
        incident_services.incident_add_note(
            reference=reference, text=_valid(NoteInput, request)["text"], actor=actor_from_request(request)
        )
        return Response({"ok": True}, status=status.HTTP_201_CREATED)


class IncidentAdvanceApi(APIView):
    permission_classes = [CanCommand]

    @extend_schema(
        summary="A manual step: request_close (keep_decrypt_only | destroy) or retry a stalled step",
        request=AdvanceInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request, reference: str) -> Response:
        data = _valid(AdvanceInput, request)
        incident_services.incident_advance(
            reference=reference,
            action=data["action"],
            choice=data["choice"],
            actor=actor_from_request(request),
            waivers=data["waivers"],
        )
        return Response({"ok": True})
