"""Regulatory clocks over the API: assess facts (stateless), an incident's assessments and obligations,
sign-off requests and filings. Thin: the services hold the rules; errors come back with their code."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents.services.incidents import incident_get
from keyvault.api.permissions import any_of
from regulatory.errors import FilingInvalid
from regulatory.models import Assessment, Obligation, OrganisationProfile
from regulatory.selectors import Clock, incident_clocks
from regulatory.serialize import utc_z
from regulatory.services.assessments import assessment_prefill, assessment_record
from regulatory.services.catalogue import obligations_compute, obligations_document
from regulatory.services.filings import filing_record, filing_signoff_request
from regulatory.services.profile import profile_current, profile_publish
from webapp.api.actors import actor_from_request

CanView = any_of("webapp.view_incidents")
CanAssess = any_of("webapp.sign_filings", "webapp.command_incidents")
CanFile = any_of("webapp.sign_filings")
CanEditProfile = any_of("regulatory.add_organisationprofile")


def clock_json(clock: Clock) -> dict[str, Any]:
    filing = clock.filing
    return {
        **clock.obligation.detail,
        "state": clock.state.state,
        "seconds_left": clock.state.seconds_left,
        "filing": None
        if filing is None
        else {
            "filed_at": utc_z(filing.filed_at),
            "filed_by": filing.filed_by,
            "channel": filing.channel,
            "reference": filing.reference,
            "attachments": filing.attachments,
            "late_reason": filing.late_reason or None,
            "on_time": filing.on_time,
        },
    }


def assessment_json(assessment: Assessment) -> dict[str, Any]:
    return {
        "version": assessment.version,
        "recorded_by": assessment.recorded_by,
        "recorded_at": utc_z(assessment.recorded_at),
        "note": assessment.note,
        "facts": assessment.facts,
        "changes": assessment.changes,
        "obligations": assessment.obligations["obligations"],
    }


def _obligation(reference: str, rule_id: str) -> Obligation:
    obligation = Obligation.objects.filter(incident__reference=reference, rule_id=rule_id).first()
    if obligation is None:
        raise FilingInvalid(f"{reference} has no assessed obligation {rule_id}")
    return obligation


class AssessApi(APIView):
    permission_classes = [CanView]

    @extend_schema(
        summary="Assess facts without storing them (the regulatory_assess contract)",
        request=OpenApiTypes.OBJECT,
        responses=OpenApiTypes.OBJECT,
        operation_id="regulatory_assess",
    )
    def post(self, request: Request) -> Response:
        return Response(obligations_document(obligations_compute(raw_facts=request.data, as_of=timezone.now())))


class AssessmentsApi(APIView):
    permission_classes = [CanView]

    class AssessmentInput(serializers.Serializer[Any]):
        facts = serializers.JSONField()
        note = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        summary="An incident's assessments, newest first", responses=OpenApiTypes.OBJECT, operation_id="assessments"
    )
    def get(self, request: Request, reference: str) -> Response:
        incident = incident_get(reference)
        found = Assessment.objects.filter(incident=incident).order_by("-version")[:50]
        return Response({"results": [assessment_json(a) for a in found]})

    @extend_schema(
        summary="Record the facts (who and when are the caller and now) and recompute the obligations",
        request=AssessmentInput,
        responses={201: OpenApiTypes.OBJECT},
        operation_id="assessment_create",
    )
    def post(self, request: Request, reference: str) -> Response:
        if not CanAssess().has_permission(request, self):
            self.permission_denied(request)
        data = self.AssessmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        assessment = assessment_record(
            incident=incident_get(reference),
            facts=data.validated_data["facts"],
            actor=actor_from_request(request),
            note=data.validated_data["note"],
        )
        return Response(assessment_json(assessment), status=status.HTTP_201_CREATED)


class PrefillApi(APIView):
    permission_classes = [CanView]

    @extend_schema(
        summary="Facts pre-filled from the blast radius and key custody (on top of the latest assessment)",
        responses=OpenApiTypes.OBJECT,
        operation_id="assessment_prefill",
    )
    def get(self, request: Request, reference: str) -> Response:
        return Response(assessment_prefill(incident_get(reference)))


class ObligationsApi(APIView):
    permission_classes = [CanView]

    @extend_schema(
        summary="An incident's obligations with their clock state (due, at_risk, overdue, filed_on_time, …)",
        responses=OpenApiTypes.OBJECT,
        operation_id="obligations",
    )
    def get(self, request: Request, reference: str) -> Response:
        clocks = incident_clocks(incident_get(reference), now=timezone.now())
        return Response({"results": [clock_json(c) for c in clocks]})


class SignoffApi(APIView):
    permission_classes = [CanAssess]

    class SignoffInput(serializers.Serializer[Any]):
        reason = serializers.CharField()

    @extend_schema(
        summary="Ask legal/DPO to sign off the filing (regulatory_filing_signoff)",
        request=SignoffInput,
        responses={201: OpenApiTypes.OBJECT},
        operation_id="obligation_signoff",
    )
    def post(self, request: Request, reference: str, rule_id: str) -> Response:
        data = self.SignoffInput(data=request.data)
        data.is_valid(raise_exception=True)
        approval = filing_signoff_request(
            obligation=_obligation(reference, rule_id),
            user=request.user,
            actor=actor_from_request(request),
            reason=data.validated_data["reason"],
        )
        return Response({"approval": str(approval.id), "status": approval.status}, status=status.HTTP_201_CREATED)


class FilingApi(APIView):
    permission_classes = [CanFile]

    class FilingAttachment(serializers.Serializer[Any]):
        name = serializers.CharField()
        sha256 = serializers.RegexField(r"^[0-9a-f]{64}$")
        size = serializers.IntegerField(required=False, min_value=0)

    class FilingInput(serializers.Serializer[Any]):
        filed_at = serializers.DateTimeField()
        channel = serializers.CharField()
        reference = serializers.CharField(required=False, allow_blank=True, default="")
        attachments = serializers.ListField(child=serializers.DictField(), required=False, default=list)
        late_reason = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        summary="Record the filing of an obligation (needs an approved sign-off; a late one states why)",
        request=FilingInput,
        responses={201: OpenApiTypes.OBJECT},
        operation_id="obligation_filing",
    )
    def post(self, request: Request, reference: str, rule_id: str) -> Response:
        data = self.FilingInput(data=request.data)
        data.is_valid(raise_exception=True)
        attachments = []
        for raw in data.validated_data["attachments"]:
            attachment = self.FilingAttachment(data=raw)
            attachment.is_valid(raise_exception=True)
            attachments.append(dict(attachment.validated_data))
        filed_at: datetime = data.validated_data["filed_at"]
        filing = filing_record(
            obligation=_obligation(reference, rule_id),
            actor=actor_from_request(request),
            filed_at=filed_at,
            channel=data.validated_data["channel"],
            reference=data.validated_data["reference"],
            attachments=attachments,
            late_reason=data.validated_data["late_reason"],
        )
        return Response(
            {"filing": str(filing.id), "on_time": filing.on_time, "signoff": str(filing.signoff_id)},
            status=status.HTTP_201_CREATED,
        )


class ProfileApi(APIView):
    """The organisation profile: read by anyone who sees incidents; published (a new version) by its editors."""

    permission_classes = [CanView]

    class ProfileInput(serializers.Serializer[Any]):
        entities = serializers.ListField(child=serializers.DictField(), allow_empty=False)
        deadline_tz = serializers.CharField()
        note = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(summary="The current organisation profile", responses=OpenApiTypes.OBJECT, operation_id="profile")
    def get(self, request: Request) -> Response:
        current = profile_current()
        if current is None:
            return Response({"version": None, "entities": [], "deadline_tz": None})
        return Response(_profile_json(current))

    @extend_schema(
        summary="Publish the next version of the organisation profile (validated with the facts schema, audited)",
        request=ProfileInput,
        responses={201: OpenApiTypes.OBJECT},
        operation_id="profile_publish",
    )
    def post(self, request: Request) -> Response:
        if not CanEditProfile().has_permission(request, self):
            self.permission_denied(request)
        data = self.ProfileInput(data=request.data)
        data.is_valid(raise_exception=True)
        published = profile_publish(
            entities=data.validated_data["entities"],
            deadline_tz=data.validated_data["deadline_tz"],
            actor=actor_from_request(request),
            note=data.validated_data["note"],
        )
        return Response(_profile_json(published), status=status.HTTP_201_CREATED)


def _profile_json(profile: OrganisationProfile) -> dict[str, Any]:
    return {
        "version": profile.version,
        "entities": profile.entities,
        "deadline_tz": profile.deadline_tz,
        "note": profile.note,
        "recorded_by": profile.recorded_by,
        "recorded_at": utc_z(profile.recorded_at),
    }
