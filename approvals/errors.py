"""Business errors of approvals, each with a stable code."""

from __future__ import annotations

from webapp.errors import DomainError


class UnknownAction(DomainError):
    code = "unknown_action"
    http_status = 400


class RequestNotFound(DomainError):
    code = "approval_request_not_found"
    http_status = 404


class InvalidApprovalRequest(DomainError):
    code = "invalid_approval_request"
    http_status = 400


class RequestClosed(DomainError):
    code = "approval_request_closed"
    http_status = 409


class RequestExpired(DomainError):
    code = "approval_request_expired"
    http_status = 409


class SeparationOfDuties(DomainError):
    code = "separation_of_duties"
    http_status = 403


class NotEligible(DomainError):
    code = "not_an_eligible_approver"
    http_status = 403


class AlreadyDecided(DomainError):
    code = "already_decided"
    http_status = 409


class StepUpRequired(DomainError):
    code = "step_up_required"
    http_status = 401


class StepUpFailed(DomainError):
    code = "step_up_failed"
    http_status = 401


class TotpNotAllowed(DomainError):
    code = "totp_not_allowed"
    http_status = 403


class ChallengeInvalid(DomainError):
    code = "challenge_invalid"
    http_status = 409


class LegalHold(DomainError):
    code = "legal_hold"
    http_status = 409


class InvalidPolicy(DomainError):
    code = "invalid_policy"
    http_status = 400


class PolicyBelowFloor(DomainError):
    code = "policy_below_floor"
    http_status = 400


class PolicyChangeUnapproved(DomainError):
    code = "policy_change_unapproved"
    http_status = 409


class PolicyChangePending(DomainError):
    code = "policy_change_pending"
    http_status = 409


class PolicyChanged(DomainError):
    code = "policy_changed"
    http_status = 409


class StepUpLocked(DomainError):
    code = "step_up_locked"
    http_status = 429


class FactorRequired(DomainError):
    code = "factor_required"
    http_status = 403


class NoEligibleApprover(DomainError):
    """Nobody but the requester (or nobody at all) holds the roles the policy needs: it could never be decided."""

    code = "no_eligible_approver"
    http_status = 409
