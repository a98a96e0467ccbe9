"""The authentication backend of OpenID Connect sign-ins: mozilla-django-oidc runs the code flow (state,
nonce, PKCE, the token request, the JWKS); this class verifies the ID token strictly (signature,
algorithm, issuer, audience, expiry) and hands its claims to ``oidc_accounts``."""

from __future__ import annotations

from typing import Any

import jwt
import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend  # type: ignore[import-untyped]

from audit.actors import Actor
from webapp.api.actors import client_ip
from webapp.oidc import config as oidc_config
from webapp.services.oidc_accounts import SignInRefused, oidc_sign_in, refusal_record

# Where the callback finds why a sign-in was refused (set on the request by the backend).
REFUSAL_ATTRIBUTE = "sequester_oidc_refusal"
# Where the callback finds the verified ID token's claims (auth_time, for a re-authentication).
CLAIMS_ATTRIBUTE = "sequester_oidc_claims"
PATH = "webapp.oidc.backend.OidcBackend"


def _actor(request: HttpRequest, name: str = "") -> Actor:
    return Actor(
        name=name, type="user", source_ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:300]
    )


class OidcBackend(OIDCAuthenticationBackend):  # type: ignore[misc]
    get_settings = staticmethod(oidc_config.mozilla_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.config = oidc_config.current()
        if self.config is None:  # OpenID Connect is off: this backend authenticates nobody
            self.UserModel = get_user_model()
            return
        super().__init__(*args, **kwargs)

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        # Only the callback (code and state in the query, a nonce from the session) is for this backend.
        if self.config is None or request is None or "nonce" not in kwargs:
            return None
        try:
            try:
                user: User | None = super().authenticate(request, **kwargs)
            except SignInRefused:
                raise
            except SuspiciousOperation:
                refusal_record(SignInRefused("token_invalid"), actor=_actor(request))
            except requests.RequestException:
                refusal_record(SignInRefused("provider_error"), actor=_actor(request))
        except SignInRefused as refused:
            setattr(request, REFUSAL_ATTRIBUTE, refused)
            return None
        return user

    def get_payload_data(self, token: bytes | str, key: Any) -> dict[str, Any]:
        """The ID token's claims, or a refusal: signed by the provider with the configured algorithm,
        issued by the configured issuer, for this client, not expired (leeway as configured)."""
        assert self.config is not None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[self.config.sign_algorithm],
                audience=self.config.client_id,
                issuer=self.config.issuer,
                leeway=self.config.leeway_seconds,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except jwt.ExpiredSignatureError:
            refusal_record(SignInRefused("token_expired"), actor=_actor(self.request))
        except jwt.InvalidTokenError as exc:
            refusal_record(
                SignInRefused("token_invalid", data={"detail": type(exc).__name__}), actor=_actor(self.request)
            )
        return claims

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> dict[str, Any]:
        return payload  # the verified ID token's claims are the only source of identity and groups

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return True  # verified in get_payload_data; the account rules are in oidc_accounts

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> User:
        assert self.config is not None
        setattr(self.request, CLAIMS_ATTRIBUTE, payload)
        return oidc_sign_in(config=self.config, claims=payload, actor=_actor(self.request))
