"""The base of every business error: a stable code, an HTTP status, a message a person can act on."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "invalid_request"
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class Forbidden(DomainError):
    code = "permission_denied"
    http_status = 403


class Conflict(DomainError):
    code = "conflict"
    http_status = 409


class MalformedRequest(DomainError):
    code = "malformed_request"
    http_status = 400


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    http_status = 413
