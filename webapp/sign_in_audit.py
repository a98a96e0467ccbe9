"""Sign-ins, sign-outs, failed sign-ins and lockouts go to the audit trail (who, from where, with what).

While django-axes holds an account or address locked out, the refused tries are not written one by
one (a script hammering the form would grow the chain without bound): the lockout itself is, once per
username and address per cool-off period (``auth.locked_out``), and axes counts the tries."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out  # type: ignore[import-untyped]
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.http import HttpRequest
from django.utils import timezone

from audit.actors import Actor
from audit.models import AuditEvent
from audit.services import audit_record
from webapp.api.actors import client_ip

OIDC_BACKEND = "webapp.oidc.backend.OidcBackend"


def _actor(name: str, request: HttpRequest | None) -> Actor:
    if request is None:
        return Actor(name=name, type="user")
    return Actor(
        name=name, type="user", source_ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:300]
    )


def _via(user: Any) -> str:
    """How the person proved who they are: the identity provider (OpenID Connect) or a local password."""
    return "oidc" if getattr(user, "backend", "") == OIDC_BACKEND else "password"


def _signed_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    name = user.get_username()
    audit_record(
        action="auth.signed_in",
        actor=_actor(name, request),
        subject_type="user",
        subject_id=name,
        data={"via": _via(user)},
    )


def _signed_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is None:
        return
    name = user.get_username()
    via = "password"
    if request is not None and request.session.get("_auth_user_backend") == OIDC_BACKEND:
        via = "oidc"
    audit_record(
        action="auth.signed_out", actor=_actor(name, request), subject_type="user", subject_id=name, data={"via": via}
    )


def _failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any) -> None:
    if request is not None and getattr(request, "axes_locked_out", False):
        return  # refused by the lockout, which is audited once (below)
    if "nonce" in credentials:
        return  # an OpenID Connect callback: webapp.services.oidc_accounts audits it with its reason
    # Django hands over cleansed credentials: the username, never the password.
    name = str(credentials.get("username", ""))[:150] or "(none)"
    audit_record(
        action="auth.sign_in_failed",
        actor=_actor(name, request),
        subject_type="user",
        subject_id=name,
        reason="wrong username or password",
    )


def _locked_out(
    sender: Any, request: HttpRequest | None, username: str | None, ip_address: str | None, **_: Any
) -> None:
    name = (username or "")[:150] or "(none)"
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    already = AuditEvent.objects.filter(
        action="auth.locked_out", subject_id=name, source_ip=ip_address, occurred_at__gte=since
    ).exists()
    if already:
        return
    audit_record(
        action="auth.locked_out",
        actor=_actor(name, request),
        subject_type="user",
        subject_id=name,
        reason="too many failed sign-ins for this username or from this address",
        data={
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "cool_off_seconds": int(settings.AXES_COOLOFF_TIME.total_seconds()),
            "path": request.path if request is not None else "",
        },
    )


def connect() -> None:
    user_logged_in.connect(_signed_in, dispatch_uid="sequester.audit.signed_in")
    user_logged_out.connect(_signed_out, dispatch_uid="sequester.audit.signed_out")
    user_login_failed.connect(_failed, dispatch_uid="sequester.audit.sign_in_failed")
    user_locked_out.connect(_locked_out, dispatch_uid="sequester.audit.locked_out")
