"""The identity provider's configuration, read from ``SEQUESTER_OIDC_*`` (no network at start-up).

Every error names the variable. The role map's role names are checked against the roles table once
the apps are loaded (``role_map_validate``, called from ``WebappConfig.ready``)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from webapp.settings.env import env_choice, env_int, env_optional, env_secret, env_str

PREFIX = "SEQUESTER_OIDC_"
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")


@dataclass(frozen=True, slots=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str
    authorization_url: str
    token_url: str
    jwks_url: str
    end_session_url: str | None
    # identity-provider group -> Sequester role slugs
    role_map: dict[str, tuple[str, ...]]
    groups_claim: str
    username_claim: str
    display_name: str
    sign_algorithm: str
    scopes: str
    timeout_seconds: int
    leeway_seconds: int

    def roles_for(self, groups: Iterable[str]) -> list[str]:
        """The roles the groups map to, in the roles table's order of first mention, without repeats."""
        found: list[str] = []
        for group in groups:
            for role in self.role_map.get(group, ()):
                if role not in found:
                    found.append(role)
        return found


def _url(name: str, *, require_https: bool, required: bool = True) -> str | None:
    value = env_optional(name)
    if value is None:
        if required:
            raise ImproperlyConfigured(f"{name} must be set when SEQUESTER_OIDC_ISSUER is set")
        return None
    schemes = ("https://",) if require_https else ("https://", "http://")
    if not value.startswith(schemes):
        raise ImproperlyConfigured(f"{name} must be an {'https' if require_https else 'http(s)'} URL, got {value!r}")
    return value


def parse_role_map(name: str, value: str) -> dict[str, tuple[str, ...]]:
    """``group=role,group=role`` (a group may appear more than once; a role may come from several groups)."""
    mapping: dict[str, list[str]] = {}
    for item in value.split(","):
        group, sep, role = item.strip().rpartition("=")
        group, role = group.strip(), role.strip()
        if not sep or not group or not role:
            raise ImproperlyConfigured(f"{name} must be a comma-separated list of group=role, got {item.strip()!r}")
        roles = mapping.setdefault(group, [])
        if role not in roles:
            roles.append(role)
    return {group: tuple(roles) for group, roles in mapping.items()}


def oidc_config_from_env(*, require_https: bool) -> OidcConfig | None:
    """None when ``SEQUESTER_OIDC_ISSUER`` is unset (then no other ``SEQUESTER_OIDC_*`` may be set)."""
    issuer = env_optional(f"{PREFIX}ISSUER")
    if issuer is None:
        stray = sorted(
            name
            for name, value in os.environ.items()
            if name.startswith(PREFIX) and value.strip() and name != "SEQUESTER_OIDC_ISSUER"
        )
        if stray:
            raise ImproperlyConfigured(f"{stray[0]} is set but SEQUESTER_OIDC_ISSUER is not (OpenID Connect is off)")
        return None
    _url(f"{PREFIX}ISSUER", require_https=require_https)
    secret = env_secret(f"{PREFIX}CLIENT_SECRET")
    if secret is None:
        raise ImproperlyConfigured(f"{PREFIX}CLIENT_SECRET (or {PREFIX}CLIENT_SECRET_FILE) must be set")
    role_map_text = env_optional(f"{PREFIX}ROLE_MAP")
    if role_map_text is None:
        raise ImproperlyConfigured(f"{PREFIX}ROLE_MAP must be set (group=role,…): without it nobody gets a role")
    return OidcConfig(
        issuer=issuer,
        client_id=env_str(f"{PREFIX}CLIENT_ID"),
        client_secret=secret,
        authorization_url=_url(f"{PREFIX}AUTHORIZATION_URL", require_https=require_https) or "",
        token_url=_url(f"{PREFIX}TOKEN_URL", require_https=require_https) or "",
        jwks_url=_url(f"{PREFIX}JWKS_URL", require_https=require_https) or "",
        end_session_url=_url(f"{PREFIX}END_SESSION_URL", require_https=require_https, required=False),
        role_map=parse_role_map(f"{PREFIX}ROLE_MAP", role_map_text),
        groups_claim=env_str(f"{PREFIX}GROUPS_CLAIM", "groups"),
        username_claim=env_str(f"{PREFIX}USERNAME_CLAIM", "preferred_username"),
        display_name=env_str(f"{PREFIX}DISPLAY_NAME", "your organisation's sign-in"),
        sign_algorithm=env_choice(f"{PREFIX}SIGN_ALGORITHM", "RS256", ALGORITHMS),
        scopes=env_str(f"{PREFIX}SCOPES", "openid profile email groups"),
        timeout_seconds=env_int(f"{PREFIX}TIMEOUT_SECONDS", 10, minimum=1, maximum=60),
        leeway_seconds=env_int(f"{PREFIX}LEEWAY_SECONDS", 60, minimum=0, maximum=300),
    )


def role_map_validate(config: OidcConfig | None, role_slugs: Iterable[str]) -> None:
    if config is None:
        return
    known = set(role_slugs)
    for group, roles in config.role_map.items():
        for role in roles:
            if role not in known:
                raise ImproperlyConfigured(
                    f"SEQUESTER_OIDC_ROLE_MAP: group {group!r} maps to {role!r}, which is not a role "
                    f"(one of {', '.join(sorted(known))})"
                )


def current() -> OidcConfig | None:
    config: OidcConfig | None = getattr(settings, "SEQUESTER_OIDC", None)
    return config


_MOZILLA: dict[str, str] = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_url",
    "OIDC_OP_TOKEN_ENDPOINT": "token_url",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_url",
    "OIDC_RP_CLIENT_ID": "client_id",
    "OIDC_RP_CLIENT_SECRET": "client_secret",
    "OIDC_RP_SIGN_ALGO": "sign_algorithm",
    "OIDC_RP_SCOPES": "scopes",
    "OIDC_TIMEOUT": "timeout_seconds",
}
_FIXED: dict[str, Any] = {
    "OIDC_OP_USER_ENDPOINT": None,  # the ID token's claims are the only source (no userinfo call)
    "OIDC_RP_IDP_SIGN_KEY": None,  # keys come from the JWKS
    "OIDC_USE_NONCE": True,
    "OIDC_USE_PKCE": True,
    "OIDC_VERIFY_SSL": True,
    "OIDC_STORE_ID_TOKEN": True,  # the hint of the provider's sign-out
    "OIDC_STORE_ACCESS_TOKEN": False,
    "OIDC_CREATE_USER": True,
    "OIDC_AUTHENTICATION_CALLBACK_URL": "oidc-callback",
    "OIDC_ALLOW_UNSECURED_JWT": False,
}


def mozilla_setting(attr: str, *default: Any) -> Any:
    """mozilla-django-oidc's settings, all derived from ``settings.SEQUESTER_OIDC`` (one source)."""
    config = current()
    if config is not None and attr in _MOZILLA:
        return getattr(config, _MOZILLA[attr])
    if attr in _FIXED:
        return _FIXED[attr]
    if hasattr(settings, attr):
        return getattr(settings, attr)
    if default:
        return default[0]
    raise ImproperlyConfigured(f"OpenID Connect is not configured ({attr}): set SEQUESTER_OIDC_ISSUER")
