"""One exception handler: every API error is JSON ``{"code": …, "detail": …}`` with a stable code."""

from __future__ import annotations

from typing import Any

import structlog
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from webapp.errors import DomainError, PayloadTooLarge

log = structlog.get_logger(__name__)

_DRF_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.ParseError: "malformed_request",
    exceptions.Throttled: "throttled",
    exceptions.ValidationError: "invalid_input",
}


def _code_for(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.AuthenticationFailed) and exc.get_codes() == "token_invalid":
        return "token_invalid"
    for kind, code in _DRF_CODES.items():
        if isinstance(exc, kind):
            return code
    return str(exc.default_code)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge("the request body is larger than the server accepts")
    if isinstance(exc, DomainError):
        return Response({"code": exc.code, "detail": exc.message, **exc.details}, status=exc.http_status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        log.exception("api.unhandled_error", view=type(context.get("view")).__name__)
        return Response(
            {"code": "internal_error", "detail": "an internal error occurred; it has been logged"},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    assert isinstance(exc, exceptions.APIException)
    body: dict[str, Any] = {"code": _code_for(exc)}
    if isinstance(exc, exceptions.ValidationError):
        body["detail"] = "the request body is not valid"
        body["errors"] = exc.detail
    else:
        body["detail"] = str(exc.detail)
    response.data = body
    return response
