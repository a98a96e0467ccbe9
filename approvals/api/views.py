"""REST for approvals, mirroring the UI under the same rules (one view per operation)."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from approvals.errors import RequestNotFound
from approvals.models import ApprovalRequest
from approvals.presenters import request_detail, request_summary
from approvals.selectors import (
    APPROVAL_SORTS,
    InvalidApprovalFilter,
    approval_sort,
    request_rules,
    requests_awaiting,
    requests_filtered,
    requests_for_listing,
)
from approvals.services import decisions, factors, requests
from webapp.api.actors import actor_from_request
from webapp.api.schema import results_of
from webapp.pagination import API_MAX_PAGE_SIZE, api_page

VIEWERS = ("webapp.view_incidents", "webapp.use_key_gate")


class CanUseApprovals(BasePermission):
    message = "approvals are for people with a role (or the service account that asked)"

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and any(user.has_perm(p) for p in VIEWERS))


class PersonOnly(BasePermission):
    message = "step-up and decisions are for people signed in, not API tokens"

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and request.auth is None)


def _visible(request: Request, request_id: UUID) -> ApprovalRequest:
    found = ApprovalRequest.objects.select_related("policy", "requested_by").filter(id=request_id).first()
    if found is None or not (
        request.user.has_perm("webapp.view_incidents") or found.requested_by_id == request.user.pk
    ):
        raise RequestNotFound(f"no approval request {request_id}")
    return found


class Summary(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    action = serializers.CharField()
    status = serializers.CharField()
    subject = serializers.DictField()
    incident = serializers.CharField()
    requested_by = serializers.CharField()
    requested_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    payload_hash = serializers.CharField()
    missing = serializers.ListField(child=serializers.CharField())


class ApprovalListApi(APIView):
    permission_classes = [CanUseApprovals]

    class OpenInput(serializers.Serializer[Any]):
        action = serializers.SlugField()
        payload = serializers.DictField()
        reason = serializers.CharField(max_length=4000)
        incident = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")

    @extend_schema(
        summary="Approval requests, a page at a time: awaiting my decision (most urgent first) by default",
        description=(
            "?scope=awaiting (default) | mine (the ones I asked for) | all (every request; incident viewers). "
            "Filters: ?status=, ?action=, ?incident=, ?requested_from=YYYY-MM-DD, ?requested_to=YYYY-MM-DD. "
            f"Sort (mine, all): ?sort={'|'.join(APPROVAL_SORTS)}. ?page_size= (at most {API_MAX_PAGE_SIZE}); "
            "the cursor is in next/previous."
        ),
        responses=results_of(Summary, "ApprovalList", paginated=True),
        operation_id="approvals_list",
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        scope = params.get("scope", "awaiting") or "awaiting"
        ordering: tuple[str, ...]
        if scope == "awaiting":
            found, ordering = requests_awaiting(request.user), ("expires_at", "id")
        elif scope == "mine":
            found = ApprovalRequest.objects.filter(requested_by_id=request.user.pk)
            ordering = approval_sort(params, "-requested_at")
        elif scope == "all" and request.user.has_perm("webapp.view_incidents"):
            found, ordering = ApprovalRequest.objects.all(), approval_sort(params, "-requested_at")
        else:
            raise InvalidApprovalFilter("scope must be awaiting, mine or all (all: incident viewers)", field="scope")
        return api_page(
            request=request,
            view=self,
            queryset=requests_for_listing(requests_filtered(found, params)),
            ordering=ordering,
            present=lambda rows: [request_summary(r) for r in rows],
        )

    @extend_schema(
        summary="Open an approval request under the current policy for the action",
        request=OpenInput,
        responses={201: Summary},
    )
    def post(self, request: Request) -> Response:
        serializer = self.OpenInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        opened = requests.approval_request_open(
            action=data["action"],
            payload=data["payload"],
            reason=data["reason"],
            incident=data["incident"],
            requested_by=request.user,
            actor=actor_from_request(request),
        )
        return Response(request_summary(opened), status=status.HTTP_201_CREATED)


class ApprovalDetailApi(APIView):
    permission_classes = [CanUseApprovals]

    @extend_schema(summary="One request: the exact payload, decisions, what is still required", responses=Summary)
    def get(self, request: Request, request_id: UUID) -> Response:
        return Response(request_detail(_visible(request, request_id), viewer=request.user))


class ChallengeInput(serializers.Serializer[Any]):
    decision = serializers.ChoiceField(choices=["approve", "reject"])
    reason = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    role = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class ChallengeOutput(serializers.Serializer[Any]):
    challenge_id = serializers.UUIDField()
    document = serializers.DictField()
    document_hash = serializers.CharField()
    webauthn_options = serializers.DictField(allow_null=True)
    totp_allowed = serializers.BooleanField()
    expires_at = serializers.DateTimeField()


class ApprovalChallengeApi(APIView):
    permission_classes = [PersonOnly]

    @extend_schema(
        summary="The decision document to sign, and the WebAuthn options over its hash",
        request=ChallengeInput,
        responses=ChallengeOutput,
    )
    def post(self, request: Request, request_id: UUID) -> Response:
        serializer = ChallengeInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        challenge, options = decisions.decision_challenge_issue(
            request_id=request_id,
            approver=request.user,
            verdict=data["decision"],
            reason=data["reason"],
            role=data["role"] or None,
        )
        return Response(
            {
                "challenge_id": challenge.id,
                "document": challenge.document,
                "document_hash": challenge.document_hash,
                "webauthn_options": json.loads(options) if options else None,
                "totp_allowed": request_rules(challenge.request).allow_totp,
                "expires_at": challenge.expires_at,
            }
        )


class DecideInput(serializers.Serializer[Any]):
    challenge_id = serializers.UUIDField()
    webauthn = serializers.DictField(required=False)
    totp = serializers.RegexField(r"^\d{6}$", required=False)


class ApprovalDecideApi(APIView):
    permission_classes = [PersonOnly]

    @extend_schema(
        summary="Decide with a fresh step-up (a WebAuthn assertion, or TOTP where allowed)",
        request=DecideInput,
        responses=Summary,
    )
    def post(self, request: Request, request_id: UUID) -> Response:
        serializer = DecideInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        decision = decisions.approval_decide(
            challenge_id=data["challenge_id"],
            request_id=request_id,
            approver=request.user,
            actor=actor_from_request(request),
            webauthn=data.get("webauthn"),
            totp=data.get("totp"),
        )
        decision.request.refresh_from_db()
        return Response(request_detail(decision.request, viewer=request.user))


class CancelInput(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=4000)


class ApprovalCancelApi(APIView):
    permission_classes = [CanUseApprovals]

    @extend_schema(
        summary="Cancel a pending request (its requester or an incident commander)",
        request=CancelInput,
        responses=Summary,
    )
    def post(self, request: Request, request_id: UUID) -> Response:
        serializer = CancelInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        cancelled = requests.approval_cancel(
            request_id=request_id,
            user=request.user,
            actor=actor_from_request(request),
            reason=serializer.validated_data["reason"],
        )
        return Response(request_summary(cancelled))


# --- second factors: prove, then enrol (approvals.services.factors) ---------------------------------
class FactorChangeBeginApi(APIView):
    permission_classes = [PersonOnly]

    @extend_schema(
        summary="Start adding or replacing a second factor: what proves it is you (and WebAuthn options)",
        request=None,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request) -> Response:
        change, options = factors.factor_change_begin(user=request.user)
        return Response(
            {
                "change_id": change.id,
                "accepts": factors.accepted_proofs(request.user),
                "webauthn_options": json.loads(options) if options else None,
                "expires_at": change.expires_at,
            }
        )


class FactorChangeProveApi(APIView):
    permission_classes = [PersonOnly]

    class ProveInput(serializers.Serializer[Any]):
        change_id = serializers.UUIDField()
        webauthn = serializers.DictField(required=False)
        totp = serializers.RegexField(r"^\d{6}$", required=False)
        password = serializers.CharField(max_length=4096, required=False, trim_whitespace=False)

    @extend_schema(
        summary="Prove it is you: an existing factor (WebAuthn assertion or TOTP), or the password when you have none",
        request=ProveInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request) -> Response:
        serializer = self.ProveInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        change = factors.factor_change_prove(
            change_id=data["change_id"],
            user=request.user,
            actor=actor_from_request(request),
            webauthn=data.get("webauthn"),
            totp=data.get("totp"),
            password=data.get("password"),
        )
        request.session[factors.SESSION_KEY] = str(change.id)
        return Response({"change_id": change.id, "proof": change.proof, "expires_at": change.expires_at})


class WebAuthnBeginApi(APIView):
    permission_classes = [PersonOnly]

    class BeginInput(serializers.Serializer[Any]):
        change_id = serializers.UUIDField()

    @extend_schema(
        summary="Options for registering a WebAuthn authenticator (needs a proven factor change)",
        request=BeginInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request) -> Response:
        serializer = self.BeginInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        options = factors.webauthn_registration_begin(
            user=request.user, change_id=serializer.validated_data["change_id"]
        )
        return Response(json.loads(options))


class WebAuthnFinishApi(APIView):
    permission_classes = [PersonOnly]

    class FinishInput(serializers.Serializer[Any]):
        change_id = serializers.UUIDField()
        credential = serializers.DictField()
        name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    @extend_schema(
        summary="Store the registered authenticator", request=FinishInput, responses={201: OpenApiTypes.OBJECT}
    )
    def post(self, request: Request) -> Response:
        serializer = self.FinishInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        stored = factors.webauthn_registration_finish(
            user=request.user,
            change_id=serializer.validated_data["change_id"],
            credential=serializer.validated_data["credential"],
            name=serializer.validated_data["name"],
            actor=actor_from_request(request),
        )
        request.session.pop(factors.SESSION_KEY, None)
        back_to = request.session.pop(factors.RETURN_SESSION_KEY, "")
        return Response({"id": stored.pk, "name": stored.name, "next": back_to}, status=status.HTTP_201_CREATED)


class FactorRecoveryApi(APIView):
    permission_classes = [PersonOnly]

    class RecoveryInput(serializers.Serializer[Any]):
        password = serializers.CharField(max_length=4096, trim_whitespace=False)
        reason = serializers.CharField(max_length=4000)

    @extend_schema(
        summary="Lost every factor: ask (with your password) that they be revoked; two approvers decide",
        request=RecoveryInput,
        responses={201: Summary},
    )
    def post(self, request: Request) -> Response:
        serializer = self.RecoveryInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        opened = factors.factor_recovery_request(
            user=request.user,
            password=serializer.validated_data["password"],
            reason=serializer.validated_data["reason"],
            actor=actor_from_request(request),
        )
        return Response(request_summary(opened), status=status.HTTP_201_CREATED)
