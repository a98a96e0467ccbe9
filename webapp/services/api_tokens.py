"""Bearer tokens for machines: issued once in clear, then kept only as a digest."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection, models, transaction
from django.db.models import OuterRef, Q, Value
from django.db.models.functions import Concat
from django.utils import timezone

from webapp.errors import DomainError, NotFound
from webapp.models import ApiToken
from webapp.roles import SERVICE_ACCOUNT

TOKEN_SCHEME = "sqr"  # noqa: S105 - the public scheme tag, not a secret
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenInvalid(DomainError):
    code = "token_invalid"
    http_status = 401


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: ApiToken
    secret: str  # the whole bearer value; shown once, never stored


def _digest(secret_part: str) -> str:
    return hashlib.sha256(secret_part.encode("utf-8")).hexdigest()


@transaction.atomic
def api_token_issue(*, service_account: str, name: str, valid_days: int) -> IssuedToken:
    """Issue a token for the service account ``service_account``, creating the account if needed."""
    if not service_account.replace("-", "").replace("_", "").isalnum():
        raise DomainError("a service account name may hold letters, digits, '-' and '_' only")
    if valid_days < 1:
        raise DomainError("a token must be valid for at least one day")
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=service_account)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    elif user.has_usable_password():
        raise DomainError(f"{service_account} is a person's account, not a service account")
    user.groups.add(Group.objects.get(name=SERVICE_ACCOUNT))
    prefix = secrets.token_hex(6)
    secret_part = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=prefix,
        digest=_digest(secret_part),
        expires_at=timezone.now() + timedelta(days=valid_days),
    )
    return IssuedToken(token=token, secret=f"{TOKEN_SCHEME}_{prefix}_{secret_part}")


def _tokens() -> models.QuerySet[ApiToken]:
    """Tokens with their user and, on PostgreSQL, the user's permissions, in one statement: the
    ``app_label.codename`` set that Django's ModelBackend would read in two more queries (its own
    permissions and its groups'), read fresh with every request, never kept across requests."""
    tokens = ApiToken.objects.select_related("user")
    if connection.vendor != "postgresql":
        return tokens
    user_model = get_user_model()
    by_group = "group__" + user_model._meta.get_field("groups").related_query_name()
    direct = user_model._meta.get_field("user_permissions").related_query_name()
    held = Permission.objects.filter(Q(**{by_group: OuterRef("user_id")}) | Q(**{direct: OuterRef("user_id")}))
    names = held.values(held_as=Concat("content_type__app_label", Value("."), "codename", output_field=models.CharField()))
    return tokens.annotate(permissions_held=ArraySubquery(names))


def _prime_permissions(token: ApiToken) -> None:
    """Hand the permissions read with the token to Django's per-user cache (ModelBackend's own
    ``_perm_cache``), so that ``has_perm`` asks no more of the database during this request. An active
    superuser's ``has_perm`` never reads it (always True), so it is left to Django."""
    held = getattr(token, "permissions_held", None)
    if held is not None and not token.user.is_superuser:
        token.user._perm_cache = set(held)  # type: ignore[attr-defined]


def api_token_authenticate(*, presented: str) -> ApiToken:
    """Return the live token that ``presented`` proves, or raise ``TokenInvalid`` (one message for all).

    One query on PostgreSQL (the token, its user and the user's permissions), plus a write of
    ``last_used_at`` at most once a minute per token."""
    scheme, _, rest = presented.partition("_")
    prefix, _, secret_part = rest.partition("_")
    invalid = TokenInvalid("the API token is invalid, expired or revoked")
    if scheme != TOKEN_SCHEME or not prefix or not secret_part:
        raise invalid
    token = _tokens().filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.digest, _digest(secret_part)):
        raise invalid
    now = timezone.now()
    if token.revoked_at is not None or token.expires_at <= now or not token.user.is_active:
        raise invalid
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    _prime_permissions(token)
    return token


def api_token_revoke(*, prefix: str) -> ApiToken:
    updated = ApiToken.objects.filter(prefix=prefix, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if not updated:
        raise NotFound(f"no live token with prefix {prefix}")
    return ApiToken.objects.get(prefix=prefix)
