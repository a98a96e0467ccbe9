"""Business errors of incidents and signals, each with a stable code."""

from __future__ import annotations

from webapp.errors import DomainError


class InvalidCloudEvent(DomainError):
    code = "invalid_cloudevent"
    http_status = 400


class UnknownKey(DomainError):
    code = "unknown_key"
    http_status = 422


class BadSignature(DomainError):
    code = "bad_signature"
    http_status = 401


class UnknownWebhookSource(DomainError):
    code = "unknown_webhook_source"
    http_status = 404


class IncidentNotFound(DomainError):
    code = "incident_not_found"
    http_status = 404


class IncidentClosed(DomainError):
    code = "incident_closed"
    http_status = 409


class InvalidIncidentAction(DomainError):
    code = "invalid_incident_action"
    http_status = 400


class StaleSignature(DomainError):
    code = "stale_signature"
    http_status = 401


class InvalidWebhookPayload(DomainError):
    code = "invalid_webhook_payload"
    http_status = 400


class SourceNotOwned(DomainError):
    code = "source_not_owned"
    http_status = 403


class SourceClaimConflict(DomainError):
    code = "source_claim_conflict"
    http_status = 409


class ClosureBlocked(DomainError):
    """Closing refused: open items (review, acknowledgements, obligations, sign-offs, rewrap) are
    neither done nor waived with a reason."""

    code = "closure_open_items"
    http_status = 409


class ExerciseMismatch(DomainError):
    """An exercise touches only canary keys made for it; a real incident never holds them."""

    code = "exercise_key_mismatch"
    http_status = 409


class NotAllowedToAssign(DomainError):
    """Only an incident commander assigns an incident's commander."""

    code = "not_allowed_to_assign"
    http_status = 403


class CommanderNotEligible(DomainError):
    """An incident's commander is an active person with the commander role."""

    code = "commander_not_eligible"
    http_status = 400
