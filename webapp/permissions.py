"""The one permission check of the HTML views (the API's is ``keyvault.api.permissions.any_of``)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest


def require_any(request: HttpRequest, *permissions: str) -> None:
    """403 unless the signed-in user holds at least one of ``permissions``."""
    if not any(request.user.has_perm(p) for p in permissions):
        raise PermissionDenied
