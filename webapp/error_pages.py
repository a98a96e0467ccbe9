"""Error answers outside the views: JSON ``{"code", "detail"}`` under ``/api/`` (the API's contract),
Django's HTML pages elsewhere. Wired as ``handler400/403/404/500`` in ``webapp.urls``."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def error_response(request: HttpRequest, status: int, code: str, detail: str, **extra: Any) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"code": code, "detail": detail, **extra}, status=status)
    return HttpResponse(f"{detail}\n", status=status, content_type="text/plain; charset=utf-8")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return error_response(request, 400, "malformed_request", "the request is malformed")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return error_response(request, 403, "permission_denied", "you may not do this")
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return error_response(request, 404, "not_found", f"no API endpoint at {request.path}")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return error_response(request, 500, "internal_error", "an internal error occurred; it has been logged")
    return defaults.server_error(request)
