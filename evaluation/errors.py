"""Business errors of the evaluation app, each with a stable code."""

from __future__ import annotations

from webapp.errors import DomainError


class ReviewInvalid(DomainError):
    code = "review_invalid"
    http_status = 400


class ReviewLocked(DomainError):
    code = "review_locked"
    http_status = 409


class PlaybookInvalid(DomainError):
    code = "playbook_invalid"
    http_status = 409


class DrillInvalid(DomainError):
    code = "drill_invalid"
    http_status = 400


class TargetInvalid(DomainError):
    code = "target_invalid"
    http_status = 400


class ReportInvalid(DomainError):
    code = "report_invalid"
    http_status = 400
