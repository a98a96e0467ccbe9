"""Who a person signed in by the identity provider is in Sequester, and which roles they hold.

The rules, in one place:
- a person is linked by the provider's issuer and subject (``iss``, ``sub``); the first sign-in creates
  the user (no usable password: they sign in at the provider, never with a Sequester password);
- a username already used by a local account (break-glass) or another person is never taken over;
- roles are exactly those the ID token's groups map to (``SEQUESTER_OIDC_ROLE_MAP``), brought in step at
  every sign-in, every change audited;
- a person none of whose groups maps to a role is refused (and loses any role they had);
- every refusal is audited with its reason (who, from where).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NoReturn

from django.contrib.auth.models import Group, User
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.actors import Actor
from audit.services import audit_record
from webapp.models import ExternalIdentity
from webapp.oidc.config import OidcConfig
from webapp.roles import ROLES_BY_SLUG

# What a refused person reads (never a token or a claim value they did not send).
REFUSALS: dict[str, str] = {
    "token_invalid": "The sign-in answer of your identity provider could not be verified. Please try again.",
    "token_expired": "The sign-in answer of your identity provider had expired. Please sign in again.",
    "claim_missing": "Your identity provider did not say who you are (a claim is missing). Ask your administrator.",
    "username_taken": (
        "Your user name is already used by another Sequester account (a local one). "
        "Ask your administrator to rename one of them."
    ),
    "no_role": (
        "You signed in, but none of your groups at your identity provider gives a role in Sequester, "
        "so there is nothing you may see here. If you should respond to key incidents, ask your "
        "administrator to add you to the right group."
    ),
    "account_disabled": "Your Sequester account is disabled. Ask your administrator.",
    "provider_error": "Your identity provider could not be reached or refused the sign-in. Please try again.",
}


@dataclass
class SignInRefused(Exception):
    code: str
    name: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return REFUSALS[self.code]

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def groups_from_claims(claims: dict[str, Any], claim: str) -> list[str]:
    """The groups claim as a list of strings (a single string is one group; anything else, none)."""
    value = claims.get(claim)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def oidc_sign_in(*, config: OidcConfig, claims: dict[str, Any], actor: Actor) -> User:
    """The user a verified ID token signs in as (created at first sign-in), its roles in step with its
    groups; ``SignInRefused`` when it may not sign in (audited)."""
    subject, issuer = claims.get("sub"), claims.get("iss")
    if not isinstance(subject, str) or not subject or not isinstance(issuer, str):
        refusal_record(SignInRefused("claim_missing", data={"claim": "sub"}), actor=actor)
    groups = groups_from_claims(claims, config.groups_claim)
    roles = config.roles_for(groups)
    try:
        user = _link_and_sync(config=config, claims=claims, groups=groups, roles=roles, actor=actor)
    except SignInRefused as refused:
        refusal_record(refused, actor=actor)
    if not roles:
        refusal_record(SignInRefused("no_role", user.get_username(), {"groups": groups}), actor=actor)
    return user


@transaction.atomic
def _link_and_sync(
    *, config: OidcConfig, claims: dict[str, Any], groups: list[str], roles: list[str], actor: Actor
) -> User:
    identity = (
        ExternalIdentity.objects.select_for_update()
        .select_related("user")
        .filter(issuer=claims["iss"], subject=claims["sub"])
        .first()
    )
    if identity is None:
        user = _create(config=config, claims=claims, groups=groups, roles=roles, actor=actor)
        identity = ExternalIdentity.objects.create(user=user, issuer=claims["iss"], subject=claims["sub"])
    user = identity.user
    if not user.is_active:
        raise SignInRefused("account_disabled", user.get_username())
    _roles_sync(user, roles=roles, groups=groups, actor=actor)
    identity.groups = groups
    identity.last_sign_in_at = timezone.now()
    identity.save(update_fields=["groups", "last_sign_in_at"])
    return user


def _create(*, config: OidcConfig, claims: dict[str, Any], groups: list[str], roles: list[str], actor: Actor) -> User:
    username = claims.get(config.username_claim)
    if not isinstance(username, str) or not username:
        raise SignInRefused("claim_missing", str(claims["sub"])[:150], {"claim": config.username_claim})
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError:
        raise SignInRefused("claim_missing", str(claims["sub"])[:150], {"claim": config.username_claim}) from None
    if len(username) > 150:
        raise SignInRefused("claim_missing", str(claims["sub"])[:150], {"claim": config.username_claim})
    if User.objects.filter(username__iexact=username).exists():
        raise SignInRefused("username_taken", username, {"subject": claims["sub"]})
    if not roles:
        raise SignInRefused("no_role", username, {"groups": groups})  # no account for someone with no role
    user = User.objects.create_user(
        username=username,
        email=str(claims.get("email") or "")[:254],
        first_name=str(claims.get("given_name") or "")[:150],
        last_name=str(claims.get("family_name") or "")[:150],
    )  # no password given: unusable, this person signs in at the provider only
    audit_record(
        action="auth.account_created",
        actor=Actor(name=username, type="user", source_ip=actor.source_ip, user_agent=actor.user_agent),
        subject_type="user",
        subject_id=username,
        reason="first sign-in with the identity provider",
        data={"via": "oidc", "issuer": claims["iss"], "subject": claims["sub"]},
    )
    return user


def _roles_sync(user: User, *, roles: list[str], groups: list[str], actor: Actor) -> None:
    before = sorted(user.groups.filter(name__in=ROLES_BY_SLUG).values_list("name", flat=True))
    after = sorted(roles)
    if before == after:
        return
    user.groups.remove(*Group.objects.filter(name__in=set(before) - set(after)))
    user.groups.add(*Group.objects.filter(name__in=set(after) - set(before)))
    audit_record(
        action="auth.roles_changed",
        actor=Actor(name=user.get_username(), type="user", source_ip=actor.source_ip, user_agent=actor.user_agent),
        subject_type="user",
        subject_id=user.get_username(),
        reason="roles follow the identity provider's groups (SEQUESTER_OIDC_ROLE_MAP)",
        data={"via": "oidc", "before": before, "after": after, "groups": groups},
    )


def refusal_record(refused: SignInRefused, *, actor: Actor) -> NoReturn:
    """Audit a refused sign-in (its own transaction) and raise it."""
    name = refused.name or actor.name or "(unknown)"
    with transaction.atomic():
        audit_record(
            action="auth.sign_in_failed",
            actor=Actor(name=name, type="user", source_ip=actor.source_ip, user_agent=actor.user_agent),
            subject_type="user",
            subject_id=name,
            reason=refused.message,
            data={"via": "oidc", "code": refused.code, **refused.data},
        )
    raise refused
