"""Re-check a stored decision from its evidence alone: the document, its hash, the request payload it
names, and (for WebAuthn) the assertion signature under the approver's enrolled public key. Status fields
are never consulted.

What can be re-checked depends on the step-up. A WebAuthn assertion is a signature: it is verified again,
now, against the enrolled public key. A TOTP code is derived from a secret the server shares with the
approver: it was checked once, at decision time, and nothing stored lets anyone check it again — the
record only shows that the check was made and bound to the signed document. ``DecisionCheck.statement``
says which, in words a case file and the CLI print as they are."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from approvals.models import Decision
from audit.chain import canonical_json


@dataclass
class DecisionCheck:
    decision_id: str
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    statement: str = ""  # what was verified, how and when
    reverified: bool = False  # the step-up itself was verified again now (a signature), not only its record

    def add(self, name: str, ok: bool, detail: str = "") -> None:
        self.checks.append((name, ok, detail))

    @property
    def ok(self) -> bool:
        return all(ok for _, ok, _ in self.checks)


def decision_verify(decision: Decision) -> DecisionCheck:
    # WebAuthn is imported here, when a decision is verified, not by every process that loads this module.
    from webauthn import verify_authentication_response
    from webauthn.helpers.exceptions import WebAuthnException

    from approvals.services.stepup import b64url, b64url_decode

    report = DecisionCheck(str(decision.id))
    document = decision.document
    digest = hashlib.sha256(canonical_json(document)).hexdigest()
    report.add("document hash", digest == decision.document_hash, digest)
    request = decision.request
    payload_digest = hashlib.sha256(canonical_json(request.payload)).hexdigest()
    report.add("request payload hash", document.get("payload_hash") == payload_digest, payload_digest)
    report.add(
        "document names this decision",
        document.get("request") == str(request.id)
        and document.get("approver") == decision.approver.get_username()
        and document.get("decision") == decision.verdict
        and document.get("role") == decision.role,
    )
    evidence = decision.evidence
    if decision.method == Decision.Method.TOTP:
        checked_at = str(evidence.get("verified_at") or "an unrecorded time")
        report.add(
            "TOTP record names this document",
            evidence.get("method") == "totp" and evidence.get("document_hash") == digest,
            f"one-time code checked at decision time ({checked_at}, time step {evidence.get('time_step', '?')})",
        )
        report.statement = (
            f"TOTP: a one-time code was checked at decision time ({checked_at}). TOTP is a secret shared with "
            "the server, not a signature: the code cannot be re-verified afterwards; what was re-checked now is "
            "the record binding that check to the signed document."
        )
        return report
    client_data = json.loads(b64url_decode(evidence["client_data_json"]))
    report.add("signed challenge is the document hash", client_data.get("challenge") == b64url(bytes.fromhex(digest)))
    credential = decision.credential
    if credential is None:
        report.add("approver's registered credential", False, "missing")
        return report
    report.add("credential belongs to the approver", credential.user_id == decision.approver_id)
    assertion = {
        "id": evidence["credential_id"],
        "rawId": evidence["credential_id"],
        "type": "public-key",
        "response": {
            "clientDataJSON": evidence["client_data_json"],
            "authenticatorData": evidence["authenticator_data"],
            "signature": evidence["signature"],
            "userHandle": evidence.get("user_handle"),
        },
        "clientExtensionResults": {},
    }
    short = f"{evidence['credential_id'][:16]}…"
    now = timezone.now().strftime("%Y-%m-%d %H:%M:%S UTC")
    try:
        verify_authentication_response(
            credential=assertion,
            expected_challenge=bytes.fromhex(digest),
            expected_rp_id=settings.SEQUESTER_WEBAUTHN_RP_ID,
            expected_origin=settings.SEQUESTER_WEBAUTHN_ORIGINS,
            credential_public_key=bytes(credential.public_key),
            credential_current_sign_count=0,
            require_user_verification=False,
        )
        report.add(
            "WebAuthn assertion signature", True, f"verified against the enrolled public key of credential {short}"
        )
        report.reverified = True
        report.statement = (
            f"WebAuthn: the assertion signature over the document hash was verified again, at {now}, against the "
            f"approver's enrolled public key (credential {short})."
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        report.add("WebAuthn assertion signature", False, str(exc))
        report.statement = f"WebAuthn: the assertion signature does NOT verify against the enrolled public key: {exc}"
    return report
