"""One view per operation, each thin: parse, call a service, render. The paths are a contract."""

from __future__ import annotations

import io
from typing import Any
from uuid import UUID

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.actors import Actor
from keyvault import selectors
from keyvault.api.fields import Base64Field, b64
from keyvault.api.permissions import (
    CanActivate,
    CanCompromise,
    CanCreateKeys,
    CanDeactivate,
    CanDecrypt,
    CanEncrypt,
    CanListQuarantine,
    CanReadInventory,
    CanRegisterItems,
    CanRewrap,
    CanRotate,
    CanSuspend,
    any_of,
)
from keyvault.errors import InvalidKeyRequest
from keyvault.models import AiDataCategory, ManagedKey
from keyvault.policy import Caller
from keyvault.services import gate, lifecycle
from keyvault.services.inventory import FORMATS, key_inventory_write
from keyvault.services.wrapped_items import ItemToRegister, wrapped_items_register
from keyvault.types import Principal, UseContext, caller_for_user
from webapp.api.actors import actor_from_request
from webapp.api.fields import IdField
from webapp.api.schema import results_of
from webapp.pagination import API_MAX_PAGE_SIZE, api_page


def principal(request: Request) -> Principal:
    return Principal(actor=actor_from_request(request), user=request.user)


def caller(request: Request) -> Caller:
    return caller_for_user(request.user)


class KeyOutput(serializers.Serializer[ManagedKey]):
    id = serializers.UUIDField()
    alias = serializers.CharField()
    purpose = serializers.CharField()
    algorithm = serializers.CharField()
    backend = serializers.CharField()
    state = serializers.CharField()
    current_version = serializers.IntegerField()
    fingerprint = serializers.SerializerMethodField()
    versions = serializers.SerializerMethodField()
    parent = serializers.UUIDField(source="parent_id", allow_null=True)  # type: ignore[assignment]
    replaced_by = serializers.UUIDField(source="replaced_by_id", allow_null=True)
    ai_category = serializers.CharField()
    custodian = serializers.SerializerMethodField()
    legal_hold = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    activated_at = serializers.DateTimeField(allow_null=True)
    suspended_at = serializers.DateTimeField(allow_null=True)
    compromise_occurred_at = serializers.DateTimeField(allow_null=True)
    compromise_discovered_at = serializers.DateTimeField(allow_null=True)
    deactivated_at = serializers.DateTimeField(allow_null=True)
    destroyed_at = serializers.DateTimeField(allow_null=True)
    restricted_at = serializers.DateTimeField(allow_null=True)
    retired_at = serializers.DateTimeField(allow_null=True)
    retired_reason = serializers.CharField()

    def get_fingerprint(self, key: ManagedKey) -> str | None:
        current = [v for v in key.versions.all() if v.version == key.current_version]
        return current[0].fingerprint if current else None

    def get_versions(self, key: ManagedKey) -> list[dict[str, Any]]:
        return [
            {
                "version": v.version,
                "fingerprint": v.fingerprint,
                "created_at": v.created_at,
                "destroyed": v.destroyed_at is not None,
            }
            for v in key.versions.all()
        ]

    def get_custodian(self, key: ManagedKey) -> str | None:
        return key.custodian.get_username() if key.custodian else None


def _key_response(key: ManagedKey, *, code: int = status.HTTP_200_OK, usage: bool = False) -> Response:
    key = selectors._with_relations(ManagedKey.objects.filter(id=key.id)).get()
    data = dict(KeyOutput(key).data)
    if usage:
        data["usage"] = selectors.key_usage_totals(key)
    return Response(data, status=code)


# --- inventory ---------------------------------------------------------------------------------
def _uuid_param(value: str | None, name: str) -> UUID | None:
    if not value:
        return None
    try:
        return UUID(value)
    except ValueError:
        raise InvalidKeyRequest(f"{name} must be a key id (UUID)") from None


def _keys_page(request: Request, view: APIView, keys: QuerySet[ManagedKey]) -> Response:
    return api_page(
        request=request,
        view=view,
        queryset=keys,
        ordering=selectors.KEY_ORDERING,
        present=lambda rows: list(KeyOutput(rows, many=True).data),  # type: ignore[arg-type]
    )


class KeyListCreateApi(APIView):
    class CreateInput(serializers.Serializer[Any]):
        alias = serializers.SlugField(max_length=100)
        purpose = serializers.CharField(max_length=200)
        algorithm = serializers.ChoiceField(choices=ManagedKey.Algorithm.choices, default="AES-256-GCM")
        backend = serializers.ChoiceField(choices=ManagedKey.Backend.choices, default="local")
        ai_category = serializers.ChoiceField(choices=AiDataCategory.choices, default="", allow_blank=True)
        parent = serializers.UUIDField(required=False, allow_null=True)  # type: ignore[assignment]
        custodian = serializers.CharField(required=False, allow_blank=True, max_length=150)
        activate = serializers.BooleanField(default=True)
        data_assets = serializers.ListField(child=IdField(), default=list, max_length=1000)
        systems = serializers.ListField(child=IdField(), default=list, max_length=1000)

    def get_permissions(self) -> list[Any]:
        return [CanCreateKeys()] if self.request.method == "POST" else [CanReadInventory()]

    @extend_schema(
        summary="The active inventory (never suspended, compromised or destroyed keys), a page at a time",
        description=(
            "Filters: ?state=, ?alias= (exact), ?alias_prefix=, ?parent=<KEK id> (the keys it wrapped). "
            f"Ordered by alias; ?page_size= (at most {API_MAX_PAGE_SIZE}); the cursor is in next/previous."
        ),
        responses=results_of(KeyOutput, "KeyList", paginated=True),
        operation_id="keys_list",
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        keys = selectors.keys_inventory(
            state=params.get("state"),
            alias=params.get("alias"),
            alias_prefix=params.get("alias_prefix"),
            parent=_uuid_param(params.get("parent"), "parent"),
        )
        return _keys_page(request, self, keys)

    @extend_schema(
        summary="Create a key (local backend by default; active unless activate=false)",
        request=CreateInput,
        responses={201: KeyOutput},
    )
    def post(self, request: Request) -> Response:
        data = self._input(request)
        custodian = None
        if data.get("custodian"):
            custodian = get_user_model().objects.filter(username=data["custodian"]).first()
            if custodian is None:
                raise InvalidKeyRequest(f"no user {data['custodian']!r} to be the custodian")
        key = lifecycle.key_create(
            actor=actor_from_request(request),
            alias=data["alias"],
            purpose=data["purpose"],
            backend=data["backend"],
            ai_category=data["ai_category"],
            parent_id=data.get("parent"),
            custodian=custodian,
            activate=data["activate"],
            data_asset_ids=data["data_assets"],
            system_ids=data["systems"],
            caller=caller(request),
        )
        return _key_response(key, code=status.HTTP_201_CREATED)

    def _input(self, request: Request) -> dict[str, Any]:
        serializer = self.CreateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


class KeyQuarantineApi(APIView):
    permission_classes = [CanListQuarantine]

    @extend_schema(
        summary="Suspended and compromised keys (incident-response roles only)",
        responses=results_of(KeyOutput, "QuarantinedKeyList", paginated=True),
        operation_id="keys_quarantine_list",
    )
    def get(self, request: Request) -> Response:
        return _keys_page(request, self, selectors.keys_quarantine())


class KeyDetailApi(APIView):
    permission_classes = [CanReadInventory]

    @extend_schema(summary="One key with its usage", responses=KeyOutput)
    def get(self, request: Request, key_id: UUID) -> Response:
        return _key_response(selectors.key_visible_to(key_id=key_id, user=request.user), usage=True)


# --- state changes -----------------------------------------------------------------------------
class ReasonInput(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=2000)
    incident = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class CompromiseInput(ReasonInput):
    occurred_at = serializers.DateTimeField(required=False, allow_null=True)
    discovered_at = serializers.DateTimeField(required=False, allow_null=True)


def _reason(request: Request, serializer_class: type[serializers.Serializer[Any]] = ReasonInput) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class SuspendOutput(serializers.Serializer[Any]):
    suspended = serializers.ListField(child=serializers.UUIDField())
    already_restricted = serializers.ListField(child=serializers.UUIDField())
    blast_radius = serializers.DictField()


class CompromiseOutput(serializers.Serializer[Any]):
    compromised = serializers.ListField(child=serializers.UUIDField())


class KeySuspendApi(APIView):
    permission_classes = [CanSuspend]

    @extend_schema(
        summary="Contain: suspend the key and every key it wrapped (decrypt-only on the backend once committed)",
        request=ReasonInput,
        responses=SuspendOutput,
    )
    def post(self, request: Request, key_id: UUID) -> Response:
        data = _reason(request)
        actor = actor_from_request(request)
        result = lifecycle.key_suspend(key_ids=[key_id], actor=actor, reason=data["reason"], incident=data["incident"])
        return Response(
            {
                "suspended": [str(i) for i in result.suspended],
                "already_restricted": [str(i) for i in result.already_restricted],
                "blast_radius": result.blast_radius.as_dict() if result.blast_radius else {},
            }
        )


class KeyCompromiseApi(APIView):
    permission_classes = [CanCompromise]

    @extend_schema(
        summary="Mark compromised (and every key it wrapped); decrypt-only on the backend",
        request=CompromiseInput,
        responses=CompromiseOutput,
    )
    def post(self, request: Request, key_id: UUID) -> Response:
        data = _reason(request, CompromiseInput)
        changed = lifecycle.key_compromise(
            key_id=key_id,
            actor=actor_from_request(request),
            reason=data["reason"],
            incident=data["incident"],
            occurred_at=data.get("occurred_at"),
            discovered_at=data.get("discovered_at"),
        )
        return Response({"compromised": [str(k.id) for k in changed]})


class KeyActivateApi(APIView):
    permission_classes = [CanActivate]

    @extend_schema(
        summary="Activate a pre-active key (a suspended key returns only by an approved restore)",
        request=ReasonInput,
        responses=KeyOutput,
    )
    def post(self, request: Request, key_id: UUID) -> Response:
        data = _reason(request)
        return _key_response(
            lifecycle.key_activate(
                key_id=key_id, actor=actor_from_request(request), reason=data["reason"], caller=caller(request)
            )
        )


class KeyDeactivateApi(APIView):
    permission_classes = [CanDeactivate]

    @extend_schema(summary="Retire an active key: decrypt-only from now on", request=ReasonInput, responses=KeyOutput)
    def post(self, request: Request, key_id: UUID) -> Response:
        data = _reason(request)
        key = lifecycle.key_deactivate(
            key_id=key_id, actor=actor_from_request(request), reason=data["reason"], caller=caller(request)
        )
        return _key_response(key)


class KeyRetireApi(APIView):
    permission_classes = [CanCompromise]  # who may declare a key compromised may end its story

    @extend_schema(
        summary="Retire a compromised key without a replacement, saying why (the playbook then skips it)",
        request=ReasonInput,
        responses=KeyOutput,
    )
    def post(self, request: Request, key_id: UUID) -> Response:
        data = _reason(request)
        key = lifecycle.key_retire(
            key_id=key_id, actor=actor_from_request(request), reason=data["reason"], incident=data["incident"]
        )
        return _key_response(key)


class KeyRotateApi(APIView):
    permission_classes = [CanRotate]

    @extend_schema(
        summary="New key version for new encryptions; old versions keep decrypting",
        request=ReasonInput,
        responses=KeyOutput,
    )
    def post(self, request: Request, key_id: UUID) -> Response:
        data = _reason(request)
        version = lifecycle.key_rotate(
            key_id=key_id, actor=actor_from_request(request), reason=data["reason"], caller=caller(request)
        )
        return _key_response(version.key)


# --- the gate ----------------------------------------------------------------------------------
class ContextInput(serializers.Serializer[Any]):
    justification = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    incident = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
    affected_system = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    purpose = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


def _context(data: dict[str, Any]) -> UseContext:
    return UseContext(
        justification=data["justification"],
        incident=data["incident"],
        affected_system=data["affected_system"],
        purpose=data["purpose"],
    )


def _parse(serializer_class: type[serializers.Serializer[Any]], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class EncryptInput(ContextInput):
    plaintext_b64 = Base64Field()
    aad_b64 = Base64Field(required=False, default=b"")


class CiphertextOutput(serializers.Serializer[Any]):
    ciphertext_b64 = serializers.CharField()
    key_id = serializers.UUIDField()


class PlaintextOutput(serializers.Serializer[Any]):
    plaintext_b64 = serializers.CharField()
    key_id = serializers.UUIDField()


class DataKeyOutput(serializers.Serializer[Any]):
    plaintext_b64 = serializers.CharField()
    wrapped_b64 = serializers.CharField()
    ciphertext_b64 = serializers.CharField(help_text="The same as wrapped_b64: decrypt it to get the data key back")
    key_id = serializers.UUIDField()


class CiphertextItem(serializers.Serializer[Any]):
    ciphertext_b64 = serializers.CharField()


class PlaintextItem(serializers.Serializer[Any]):
    plaintext_b64 = serializers.CharField()


class CiphertextBatchOutput(serializers.Serializer[Any]):
    key_id = serializers.UUIDField()
    items = CiphertextItem(many=True)


class PlaintextBatchOutput(serializers.Serializer[Any]):
    key_id = serializers.UUIDField()
    items = PlaintextItem(many=True)


class KeyEncryptApi(APIView):
    permission_classes = [CanEncrypt]

    @extend_schema(
        summary="Encrypt (active keys only; a compromised key only under an approved exception)",
        request=EncryptInput,
        responses=CiphertextOutput,
    )
    def post(self, request: Request, key_id: UUID) -> Response:
        data = _parse(EncryptInput, request)
        (sealed,) = gate.gate_encrypt(
            key_id=key_id,
            items=[gate.EncryptItem(data["plaintext_b64"], data["aad_b64"])],
            principal=principal(request),
            context=_context(data),
        )
        return Response({"ciphertext_b64": b64(sealed), "key_id": str(key_id)})


class AliasEncryptApi(APIView):
    permission_classes = [CanEncrypt]

    @extend_schema(
        summary="Encrypt with the alias's active key (never a suspended or compromised one)",
        request=EncryptInput,
        responses=CiphertextOutput,
    )
    def post(self, request: Request, alias: str) -> Response:
        data = _parse(EncryptInput, request)
        key_id, (sealed,) = gate.gate_encrypt_alias(
            alias=alias,
            items=[gate.EncryptItem(data["plaintext_b64"], data["aad_b64"])],
            principal=principal(request),
            context=_context(data),
        )
        return Response({"ciphertext_b64": b64(sealed), "key_id": str(key_id)})


class DecryptInput(ContextInput):
    ciphertext_b64 = Base64Field()
    aad_b64 = Base64Field(required=False, default=b"")


class KeyDecryptApi(APIView):
    permission_classes = [CanDecrypt]

    @extend_schema(
        summary="Decrypt (every use of a suspended or compromised key is logged)",
        request=DecryptInput,
        responses=PlaintextOutput,
    )
    def post(self, request: Request, key_id: UUID) -> Response:
        data = _parse(DecryptInput, request)
        (plaintext,) = gate.gate_decrypt(
            items=[gate.DecryptItem(data["ciphertext_b64"], data["aad_b64"])],
            principal=principal(request),
            context=_context(data),
            expected_key_id=key_id,
        )
        return Response({"plaintext_b64": b64(plaintext), "key_id": str(key_id)})


class RewrapInput(ContextInput):
    ciphertext_b64 = Base64Field()
    aad_b64 = Base64Field(required=False, default=b"")
    target_key = serializers.UUIDField(required=False, allow_null=True)


class KeyRewrapApi(APIView):
    permission_classes = [CanRewrap]

    @extend_schema(
        summary="Re-encrypt under the target (default: the replacement); plaintext never leaves",
        request=RewrapInput,
        responses=CiphertextOutput,
    )
    def post(self, request: Request, key_id: UUID) -> Response:
        data = _parse(RewrapInput, request)
        target_id, (sealed,) = gate.gate_rewrap(
            items=[gate.DecryptItem(data["ciphertext_b64"], data["aad_b64"])],
            principal=principal(request),
            context=_context(data),
            target_key_id=data.get("target_key"),
            expected_key_id=key_id,
        )
        return Response({"ciphertext_b64": b64(sealed), "key_id": str(target_id)})


class DataKeyInput(ContextInput):
    aad_b64 = Base64Field(required=False, default=b"")


class KeyDataKeyApi(APIView):
    permission_classes = [CanEncrypt]

    @extend_schema(
        summary="A fresh 256-bit data key, in clear and wrapped under this key",
        request=DataKeyInput,
        responses=DataKeyOutput,
    )
    def post(self, request: Request, key_id: UUID) -> Response:
        data = _parse(DataKeyInput, request)
        (data_key,) = gate.gate_data_keys(
            key_id=key_id, principal=principal(request), aad=data["aad_b64"], context=_context(data)
        )
        wrapped = b64(data_key.wrapped)
        return Response(
            {
                "plaintext_b64": b64(data_key.plaintext),
                "wrapped_b64": wrapped,
                "ciphertext_b64": wrapped,
                "key_id": str(key_id),
            }
        )


# --- batches: one state check per key per call --------------------------------------------------
class PlainItem(serializers.Serializer[Any]):
    plaintext_b64 = Base64Field()
    aad_b64 = Base64Field(required=False, default=b"")


class CipherItem(serializers.Serializer[Any]):
    ciphertext_b64 = Base64Field()
    aad_b64 = Base64Field(required=False, default=b"")


class EncryptBatchInput(ContextInput):
    items = PlainItem(many=True)


class DecryptBatchInput(ContextInput):
    items = CipherItem(many=True)


class RewrapBatchInput(DecryptBatchInput):
    target_key = serializers.UUIDField(required=False, allow_null=True)


class KeyEncryptBatchApi(APIView):
    permission_classes = [CanEncrypt]

    @extend_schema(
        summary="Encrypt many items with one state check", request=EncryptBatchInput, responses=CiphertextBatchOutput
    )
    def post(self, request: Request, key_id: UUID) -> Response:
        data = _parse(EncryptBatchInput, request)
        sealed = gate.gate_encrypt(
            key_id=key_id,
            items=[gate.EncryptItem(i["plaintext_b64"], i["aad_b64"]) for i in data["items"]],
            principal=principal(request),
            context=_context(data),
        )
        return Response({"key_id": str(key_id), "items": [{"ciphertext_b64": b64(s)} for s in sealed]})


class KeyDecryptBatchApi(APIView):
    permission_classes = [CanDecrypt]

    @extend_schema(
        summary="Decrypt many items with one state check", request=DecryptBatchInput, responses=PlaintextBatchOutput
    )
    def post(self, request: Request, key_id: UUID) -> Response:
        data = _parse(DecryptBatchInput, request)
        plaintexts = gate.gate_decrypt(
            items=[gate.DecryptItem(i["ciphertext_b64"], i["aad_b64"]) for i in data["items"]],
            principal=principal(request),
            context=_context(data),
            expected_key_id=key_id,
        )
        return Response({"key_id": str(key_id), "items": [{"plaintext_b64": b64(p)} for p in plaintexts]})


class KeyRewrapBatchApi(APIView):
    permission_classes = [CanRewrap]

    @extend_schema(
        summary="Rewrap many items with one state check per key",
        request=RewrapBatchInput,
        responses=CiphertextBatchOutput,
    )
    def post(self, request: Request, key_id: UUID) -> Response:
        data = _parse(RewrapBatchInput, request)
        target_id, sealed = gate.gate_rewrap(
            items=[gate.DecryptItem(i["ciphertext_b64"], i["aad_b64"]) for i in data["items"]],
            principal=principal(request),
            context=_context(data),
            target_key_id=data.get("target_key"),
            expected_key_id=key_id,
        )
        return Response({"key_id": str(target_id), "items": [{"ciphertext_b64": b64(s)} for s in sealed]})


class WrappedItemInput(serializers.Serializer[Any]):
    reference = serializers.CharField(max_length=200)
    ciphertext_b64 = Base64Field()
    aad_b64 = Base64Field(required=False, default=b"")
    data_asset = IdField(required=False, allow_null=True, default=None)


class WrappedItemsInput(serializers.Serializer[Any]):
    items = WrappedItemInput(many=True)


class RegisteredOutput(serializers.Serializer[Any]):
    registered = serializers.IntegerField()


class KeyWrappedItemsApi(APIView):
    permission_classes = [CanRegisterItems]

    @extend_schema(
        summary="Register ciphertexts (e.g. wrapped data keys) made under this key, for rewrapping on compromise",
        request=WrappedItemsInput,
        responses={201: RegisteredOutput},
    )
    def post(self, request: Request, key_id: UUID) -> Response:
        data = _parse(WrappedItemsInput, request)
        count = wrapped_items_register(
            key_id=key_id,
            items=[
                ItemToRegister(i["reference"], i["ciphertext_b64"], i["aad_b64"], i["data_asset"])
                for i in data["items"]
            ],
            caller=caller(request),
        )
        return Response({"registered": count}, status=status.HTTP_201_CREATED)


class _FormatIsTheFileFormat(DefaultContentNegotiation):
    """``?format=`` names the export's file format here, not a DRF renderer."""

    def select_renderer(self, request: Request, renderers: Any, format_suffix: str | None = None) -> Any:
        return renderers[0], renderers[0].media_type


class KeyInventoryExportApi(APIView):
    permission_classes = [any_of("webapp.view_audit")]
    content_negotiation_class = _FormatIsTheFileFormat

    @extend_schema(
        summary="Export every key with its state (quarantined included, no key material) for sampling",
        parameters=[OpenApiParameter("format", str, enum=list(FORMATS), default="csv")],
        responses={(200, "text/csv"): OpenApiTypes.STR, (200, "application/json"): OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> HttpResponse:
        chosen = request.query_params.get("format", "csv")
        if chosen not in FORMATS:
            raise InvalidKeyRequest(f"unknown format {chosen!r}: use csv or json")
        return key_inventory_response(chosen, actor_from_request(request))


def key_inventory_response(format: str, actor: Actor) -> HttpResponse:
    """The inventory as a download (the API and the auditor's page both answer with it)."""
    out = io.StringIO()
    key_inventory_write(out=out, format=format, actor=actor)
    content_type = "text/csv; charset=utf-8" if format == "csv" else "application/json"
    response = HttpResponse(out.getvalue(), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="key-inventory.{format}"'
    return response
