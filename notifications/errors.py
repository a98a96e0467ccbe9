"""Business errors of notifications, each with a stable code."""

from __future__ import annotations

from webapp.errors import DomainError


class NotificationNotFound(DomainError):
    code = "notification_not_found"
    http_status = 404


class AckTokenInvalid(DomainError):
    """Unknown, expired or already used: the page says so without telling which."""

    code = "ack_token_invalid"
    http_status = 404


class NotAllowedToApprove(DomainError):
    code = "permission_denied"
    http_status = 403


class NothingToApprove(DomainError):
    code = "nothing_to_approve"
    http_status = 409
