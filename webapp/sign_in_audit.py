"""Sign-ins, sign-outs and failed sign-ins go to the audit trail (who, from where, with what)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.http import HttpRequest

from audit.actors import Actor
from audit.services import audit_record
from webapp.api.actors import client_ip


def _actor(name: str, request: HttpRequest | None) -> Actor:
    if request is None:
        return Actor(name=name, type="user")
    return Actor(
        name=name, type="user", source_ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:300]
    )


def _signed_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    name = user.get_username()
    audit_record(action="auth.signed_in", actor=_actor(name, request), subject_type="user", subject_id=name)


def _signed_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is None:
        return
    name = user.get_username()
    audit_record(action="auth.signed_out", actor=_actor(name, request), subject_type="user", subject_id=name)


def _failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any) -> None:
    # Django hands over cleansed credentials: the username, never the password.
    name = str(credentials.get("username", ""))[:150] or "(none)"
    audit_record(
        action="auth.sign_in_failed",
        actor=_actor(name, request),
        subject_type="user",
        subject_id=name,
        reason="wrong username or password",
    )


def connect() -> None:
    user_logged_in.connect(_signed_in, dispatch_uid="sequester.audit.signed_in")
    user_logged_out.connect(_signed_out, dispatch_uid="sequester.audit.signed_out")
    user_login_failed.connect(_failed, dispatch_uid="sequester.audit.sign_in_failed")
