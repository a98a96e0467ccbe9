"""The actor of an API or UI request, as the audit trail records it."""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework.request import Request

from audit.actors import Actor
from webapp.models import ApiToken


def client_ip(request: HttpRequest | Request) -> str | None:
    # Behind a proxy, configure it to set REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR") or None


def actor_from_request(request: HttpRequest | Request) -> Actor:
    user = request.user
    machine = isinstance(getattr(request, "auth", None), ApiToken)
    return Actor(
        name=user.get_username(),
        type="service" if machine else "user",
        source_ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
    )
