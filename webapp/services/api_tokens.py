"""Bearer tokens for machines: issued once in clear, then kept only as a digest."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
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


# One statement (PostgreSQL, Django's own user model) for a token, its user and the user's permissions
# as ``app_label.codename``: what ModelBackend would read in two more queries (the user's own and its
# groups'). Executed fresh with every request; nothing of it is kept across requests.
_PG_SELECT_BEARER = """
SELECT {token}, {user},
  ARRAY(SELECT ct.app_label || '.' || p.codename
        FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id
        WHERE p.id IN (SELECT permission_id FROM auth_user_user_permissions WHERE user_id = u.id
                       UNION ALL
                       SELECT gp.permission_id FROM auth_group_permissions gp
                       JOIN auth_user_groups ug ON ug.group_id = gp.group_id WHERE ug.user_id = u.id))
FROM webapp_apitoken t JOIN auth_user u ON u.id = t.user_id
WHERE t.prefix = %s
"""


@functools.cache
def _pg_token_statement() -> tuple[str, list[str], list[str]]:
    token_fields = [f.attname for f in ApiToken._meta.concrete_fields]
    user_fields = [f.attname for f in User._meta.concrete_fields]
    token_columns = ", ".join(f"t.{f.column}" for f in ApiToken._meta.concrete_fields)
    user_columns = ", ".join(f"u.{f.column}" for f in User._meta.concrete_fields)
    return _PG_SELECT_BEARER.format(token=token_columns, user=user_columns), token_fields, user_fields


def _token_with_permissions(prefix: str) -> ApiToken | None:
    """The token for ``prefix`` with its user. On PostgreSQL, in one statement that also reads the
    user's permissions into Django's own per-user cache (ModelBackend's ``_perm_cache``), so that
    ``has_perm`` asks nothing more of the database during this request. An active superuser's
    ``has_perm`` never reads that cache (always True), so it is left to Django."""
    if connection.vendor != "postgresql" or settings.AUTH_USER_MODEL != "auth.User":
        return ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    sql, token_fields, user_fields = _pg_token_statement()
    with connection.cursor() as cursor:
        cursor.execute(sql, [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(token_fields)
    token = ApiToken.from_db(connection.alias, token_fields, row[:split])
    user = User.from_db(connection.alias, user_fields, row[split : split + len(user_fields)])
    token.user = user
    if not user.is_superuser:
        user._perm_cache = set(row[-1])  # type: ignore[attr-defined]
    return token


def api_token_authenticate(*, presented: str) -> ApiToken:
    """Return the live token that ``presented`` proves, or raise ``TokenInvalid`` (one message for all).

    One query on PostgreSQL (the token, its user and the user's permissions), plus a write of
    ``last_used_at`` at most once a minute per token."""
    scheme, _, rest = presented.partition("_")
    prefix, _, secret_part = rest.partition("_")
    invalid = TokenInvalid("the API token is invalid, expired or revoked")
    if scheme != TOKEN_SCHEME or not prefix or not secret_part:
        raise invalid
    token = _token_with_permissions(prefix)
    if token is None or not hmac.compare_digest(token.digest, _digest(secret_part)):
        raise invalid
    now = timezone.now()
    if token.revoked_at is not None or token.expires_at <= now or not token.user.is_active:
        raise invalid
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def api_token_revoke(*, prefix: str) -> ApiToken:
    updated = ApiToken.objects.filter(prefix=prefix, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if not updated:
        raise NotFound(f"no live token with prefix {prefix}")
    return ApiToken.objects.get(prefix=prefix)
