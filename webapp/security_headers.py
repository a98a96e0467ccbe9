"""Content-Security-Policy and Permissions-Policy on every answer (Django 5.2 has no CSP of its own).

The pages hold no inline script, no inline event handler and no ``javascript:`` URL (a test reads every
template to keep it so): scripts come from our own static files only. Two third-party pages keep
inline *styles* (never scripts): the Swagger UI and the Django admin's change list.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

_DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
INLINE_STYLE_PATHS = ("/api/docs/", "/admin/")


def _policy(directives: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}" for name, value in directives.items())


CONTENT_SECURITY_POLICY = _policy(_DIRECTIVES)
CONTENT_SECURITY_POLICY_INLINE_STYLES = _policy({**_DIRECTIVES, "style-src": "'self' 'unsafe-inline'"})
# WebAuthn (step-up) is the one powerful feature the pages use, on our own origin only.
PERMISSIONS_POLICY = ", ".join(
    [
        "accelerometer=()",
        "camera=()",
        "display-capture=()",
        "geolocation=()",
        "gyroscope=()",
        "magnetometer=()",
        "microphone=()",
        "midi=()",
        "payment=()",
        "usb=()",
        "publickey-credentials-create=(self)",
        "publickey-credentials-get=(self)",
    ]
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        inline_styles = request.path.startswith(INLINE_STYLE_PATHS)
        response.headers.setdefault(
            "Content-Security-Policy",
            CONTENT_SECURITY_POLICY_INLINE_STYLES if inline_styles else CONTENT_SECURITY_POLICY,
        )
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
