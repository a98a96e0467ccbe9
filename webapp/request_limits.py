"""The first check of every request: its declared body size. A body over the limit is answered 413
``payload_too_large`` from its ``Content-Length`` alone, before a byte of it is read and before any
authentication or signature check (the webhook endpoints take unauthenticated bodies)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from webapp.error_pages import error_response


class RequestBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(declared)
        except ValueError:
            length = -1
        if length < 0:
            return error_response(request, 400, "malformed_request", "the Content-Length header is not a length")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            return error_response(
                request, 413, "payload_too_large", f"the request body is larger than {limit} bytes", limit=limit
            )
        return self.get_response(request)
