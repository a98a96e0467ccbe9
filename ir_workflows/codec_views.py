"""The codec server the Temporal Web UI calls to show decrypted payloads.

Protocol: POST ``{"payloads": [{"metadata": {k: base64}, "data": base64}]}`` to ``/decode`` (or
``/encode``), same shape back. Start the UI with ``--ui-codec-endpoint <this site>/api/temporal-codec``
(``make run`` does) and enable "include cross-origin credentials": the browser's session decides.

Who: ``decode`` for incident responders and auditors (reading); ``encode`` (what the UI does to send a
signal or an update into a workflow) for incident responders only. Any other shape is a 400.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload

from ir_workflows.client import payload_codec
from ir_workflows.codec import PayloadDecryptionError
from webapp.api.json_input import json_loads_bounded
from webapp.errors import MalformedRequest

ALLOWED = {
    "decode": ("webapp.respond_to_incidents", "webapp.view_audit"),
    "encode": ("webapp.respond_to_incidents",),
}
MAX_PAYLOADS = 1000


class PayloadShapeError(ValueError):
    pass


def _cors(response: HttpResponse, request: HttpRequest) -> HttpResponse:
    origin = request.headers.get("Origin", "")
    allowed = (settings.TEMPORAL_UI_URL or "").rstrip("/")
    if origin and allowed and origin.rstrip("/") == allowed:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Credentials"] = "true"
        response["Access-Control-Allow-Headers"] = "Content-Type, X-Namespace"
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response["Vary"] = "Origin"
    return response


def _base64(value: Any, where: str) -> bytes:
    if not isinstance(value, str):
        raise PayloadShapeError(f"{where} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise PayloadShapeError(f"{where} is not valid base64") from None


def _payloads(body: Any) -> list[Payload]:
    if not isinstance(body, dict) or not isinstance(body.get("payloads"), list):
        raise PayloadShapeError('the body must be {"payloads": [{"metadata": {…}, "data": "…"}]}')
    if len(body["payloads"]) > MAX_PAYLOADS:
        raise PayloadShapeError(f"at most {MAX_PAYLOADS} payloads per call")
    payloads = []
    for n, item in enumerate(body["payloads"]):
        if not isinstance(item, dict) or not isinstance(item.get("metadata", {}), dict):
            raise PayloadShapeError(f"payloads[{n}] must be an object with a metadata object")
        metadata = {str(k): _base64(v, f"payloads[{n}].metadata.{k}") for k, v in item.get("metadata", {}).items()}
        payloads.append(Payload(metadata=metadata, data=_base64(item.get("data", ""), f"payloads[{n}].data")))
    return payloads


def _json(payloads: Sequence[Payload]) -> dict[str, Any]:
    return {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                "data": base64.b64encode(p.data).decode(),
            }
            for p in payloads
        ]
    }


def _codec_view(operation: str) -> Any:
    @csrf_exempt  # a cross-origin JSON call from the Temporal UI; the session and CORS decide who reads
    def view(request: HttpRequest) -> HttpResponse:
        if request.method == "OPTIONS":
            return _cors(HttpResponse(status=204), request)
        if request.method != "POST":
            return _cors(JsonResponse({"code": "method_not_allowed"}, status=405), request)
        if not request.user.is_authenticated or not any(request.user.has_perm(p) for p in ALLOWED[operation]):
            who = "incident responders and auditors" if operation == "decode" else "incident responders"
            return _cors(JsonResponse({"code": "permission_denied", "detail": f"{who} only"}, status=403), request)
        try:
            payloads = _payloads(json_loads_bounded(request.body))
            codec = payload_codec()
            done = asyncio.run(codec.decode(payloads) if operation == "decode" else codec.encode(payloads))
        except MalformedRequest as exc:
            return _cors(JsonResponse({"code": exc.code, "detail": exc.message}, status=400), request)
        except (PayloadShapeError, PayloadDecryptionError, DecodeError) as exc:
            return _cors(JsonResponse({"code": "invalid_payloads", "detail": str(exc)}, status=400), request)
        return _cors(JsonResponse(_json(done)), request)

    return view


decode = _codec_view("decode")
encode = _codec_view("encode")
