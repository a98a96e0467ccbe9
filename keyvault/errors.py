"""Business errors of key custody, each with a stable code and HTTP status."""

from __future__ import annotations

from webapp.errors import DomainError


class KeyNotFound(DomainError):
    code = "key_not_found"
    http_status = 404


class AliasHasNoUsableKey(DomainError):
    code = "no_usable_key_for_alias"
    http_status = 409


class KeyNotUsableForEncryption(DomainError):
    code = "key_not_usable_for_encryption"
    http_status = 409


class KeyNotUsableForDecryption(DomainError):
    code = "key_not_usable_for_decryption"
    http_status = 409


class KeyDestroyed(DomainError):
    code = "key_destroyed"
    http_status = 410


class GateAccessDenied(DomainError):
    code = "gate_access_denied"
    http_status = 403


class DecryptContextRequired(DomainError):
    code = "decrypt_context_required"
    http_status = 403


class IllegalTransition(DomainError):
    code = "illegal_key_transition"
    http_status = 409


class KeyQuarantined(DomainError):
    """Suspended or compromised: no rotation, no new wrapped items, no new keys under it."""

    code = "key_quarantined"
    http_status = 409


class RestoreNotApproved(DomainError):
    code = "restore_not_approved"
    http_status = 403


class RewrapIncomplete(DomainError):
    """Data registered under the key has not been re-encrypted: destroying it would lose that data."""

    code = "rewrap_incomplete"
    http_status = 409


class LegalHoldActive(DomainError):
    code = "legal_hold"
    http_status = 409


class MalformedCiphertext(DomainError):
    code = "malformed_ciphertext"
    http_status = 400


class DecryptionFailed(DomainError):
    code = "decryption_failed"
    http_status = 400


class CiphertextKeyMismatch(DomainError):
    code = "ciphertext_key_mismatch"
    http_status = 400


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    http_status = 413


class BatchTooLarge(DomainError):
    code = "batch_too_large"
    http_status = 413


class BackendUnavailable(DomainError):
    code = "backend_unavailable"
    http_status = 503


class BackendRefusedOperation(DomainError):
    code = "backend_refused"
    http_status = 409


class InvalidKeyRequest(DomainError):
    code = "invalid_key_request"
    http_status = 400


class DecryptGrantRequired(DomainError):
    code = "decrypt_grant_required"
    http_status = 403
