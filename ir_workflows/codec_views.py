"""The codec server the Temporal Web UI calls to show decrypted payloads (incident responders only).

Protocol: POST ``{"payloads": [{"metadata": {k: base64}, "data": base64}]}`` to ``/decode`` (or
``/encode``), same shape back. Start the UI with ``--ui-codec-endpoint <this site>/api/temporal-codec``
(``make run`` does) and enable "include cross-origin credentials": the browser's session decides.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from temporalio.api.common.v1 import Payload

from ir_workflows.client import payload_codec
from ir_workflows.codec import PayloadDecryptionError

ALLOWED = ("webapp.respond_to_incidents", "webapp.view_audit")


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


def _payloads(body: Any) -> list[Payload]:
    return [
        Payload(
            metadata={k: base64.b64decode(v) for k, v in item.get("metadata", {}).items()},
            data=base64.b64decode(item.get("data", "")),
        )
        for item in body["payloads"]
    ]


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
        if not request.user.is_authenticated or not any(request.user.has_perm(p) for p in ALLOWED):
            return _cors(
                JsonResponse({"code": "permission_denied", "detail": "incident responders only"}, status=403), request
            )
        try:
            payloads = _payloads(json.loads(request.body))
            codec = payload_codec()
            done = asyncio.run(codec.decode(payloads) if operation == "decode" else codec.encode(payloads))
        except (ValueError, KeyError, TypeError, PayloadDecryptionError) as exc:
            return _cors(JsonResponse({"code": "invalid_payloads", "detail": str(exc)}, status=400), request)
        return _cors(JsonResponse(_json(done)), request)

    return view


decode = _codec_view("decode")
encode = _codec_view("encode")
