"""A fresh sign-in at the identity provider, asked for by Sequester (``prompt=login``, ``max_age=0``):
for a person without a password here, it proves the enrolment of a first step-up factor, as the password
re-entered does for a local account (``approvals.services.factors``).

The start page marks the session; the callback keeps the ID token's ``auth_time`` only if the provider
signed the person in after that mark, for the same user; the proof uses it once."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest

REQUESTED = "sequester_oidc_reauth_requested_at"
DONE = "sequester_oidc_reauthenticated"
CLOCK_LEEWAY_SECONDS = 5


def reauthentication_request(request: HttpRequest) -> dict[str, str]:
    """Mark the session; the extra parameters that make the provider sign the person in again."""
    request.session[REQUESTED] = time.time()
    return {"prompt": "login", "max_age": "0"}


def reauthentication_record(request: HttpRequest, user: Any, claims: dict[str, Any]) -> None:
    requested = request.session.pop(REQUESTED, None)
    auth_time = claims.get("auth_time")
    if requested is None or not isinstance(auth_time, int | float):
        return
    if auth_time + CLOCK_LEEWAY_SECONDS < requested:
        return  # the provider did not sign the person in again
    request.session[DONE] = {"user": user.pk, "at": auth_time}


def reauthenticated_at(request: HttpRequest) -> datetime | None:
    marker = request.session.get(DONE)
    if not isinstance(marker, dict) or marker.get("user") != request.user.pk:
        return None
    return datetime.fromtimestamp(marker["at"], UTC)


def reauthentication_used(request: HttpRequest) -> None:
    request.session.pop(DONE, None)
