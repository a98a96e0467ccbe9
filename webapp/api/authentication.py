"""``Authorization: Bearer sqr_…`` for machines; the UI uses the session (with CSRF)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from webapp.models import ApiToken
from webapp.services.api_tokens import TokenInvalid, api_token_authenticate


class ApiTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, ApiToken] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "the Authorization header must be 'Bearer <token>'", code="token_invalid"
            )
        try:
            presented = header[1].decode("ascii")
            token = api_token_authenticate(presented=presented)
        except (UnicodeDecodeError, TokenInvalid) as exc:
            raise exceptions.AuthenticationFailed(
                str(exc) or "the API token is invalid", code="token_invalid"
            ) from None
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="sequester"'


class ApiTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """Documents the bearer scheme in the OpenAPI schema (registered by being defined)."""

    target_class = ApiTokenAuthentication
    name = "bearerToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "sqr_<prefix>_<secret>"}
