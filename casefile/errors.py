"""Case-file errors, each with a stable code for the API and the pages."""

from __future__ import annotations

from webapp.errors import DomainError


class CaseFileNotFound(DomainError):
    code = "case_file_not_found"
    http_status = 404


class CaseFileNotReady(DomainError):
    code = "case_file_not_ready"
    http_status = 409


class SigningNotConfigured(DomainError):
    code = "case_file_signing_not_configured"
    http_status = 503


class TimestampUnavailable(DomainError):
    """A TSA is configured and did not answer: a case file is not signed without the timestamp promised."""

    code = "timestamp_unavailable"
    http_status = 503
