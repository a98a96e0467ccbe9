"""Approvals in words, for people: role names instead of codes, why a decision is refused, and what
approving a request changes. The codes stay the API's (approvals.quorum.Refusal, approvals.errors);
this module only says them in words, in one place, for every page."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from approvals import policies, quorum
from approvals.models import ApprovalRequest
from keyvault.models import ManagedKey
from webapp.roles import ROLES_BY_SLUG

ACTION_TITLES: dict[str, str] = {
    policies.CONFIRM_COMPROMISE: "Confirm the compromise",
    policies.RESTORE_FALSE_POSITIVE: "Restore keys (false positive)",
    policies.ENCRYPTION_EXCEPTION: "Encryption exception on a compromised key",
    policies.COMPROMISED_KEY_DECRYPT_ACCESS: "Decrypt access to a compromised key",
    policies.REGULATORY_FILING_SIGNOFF: "Regulatory filing sign-off",
    policies.KEY_DESTRUCTION: "Destroy a key",
    policies.CLOSE_INCIDENT: "Close the incident",
    policies.POLICY_CHANGE: "Change an approval policy",
    policies.FACTOR_RECOVERY: "Recover a person's second factors",
    policies.PLAYBOOK_PUBLISH: "Publish a playbook version",
    policies.POST_INCIDENT_REVIEW: "Sign off a post-incident review",
    policies.CONTROL_ATTESTATION: "Attest the control for a period",
}


def action_title(action: str) -> str:
    return ACTION_TITLES.get(action, action.replace("_", " ").capitalize())


def role_label(slug: str) -> str:
    role = ROLES_BY_SLUG.get(slug)
    return role.label if role else slug


def requirement_words(requirement: quorum.Requirement) -> str:
    """``1 of CISO or Security lead`` (not ``1 of ciso or security_lead``)."""
    names = " or ".join(sorted(role_label(r) for r in requirement.roles))
    return f"{requirement.count} of {names}"


def requirements_words(requirements: Iterable[quorum.Requirement]) -> str:
    return " and ".join(requirement_words(r) for r in requirements)


def refusal_words(code: str, *, rules: quorum.Rules | None = None, held: Iterable[str] = ()) -> str:
    """Why a decision is refused, as a sentence ending with its stable code in brackets."""
    if code == quorum.Refusal.SEPARATION_OF_DUTIES:
        text = (
            "You asked for this, and this policy needs someone other than the requester to decide "
            "(separation of duties)"
        )
    elif code == quorum.Refusal.NOT_ELIGIBLE:
        needed = requirements_words(rules.requirements) if rules else "other roles"
        yours = ", ".join(role_label(r) for r in held) or "none"
        text = f"You are not an eligible approver: this request needs {needed}; your roles: {yours}"
    elif code == quorum.Refusal.ALREADY_DECIDED:
        text = "You have already decided on this request; each person decides once"
    elif code == quorum.Refusal.CLOSED:
        text = "This request is already closed; nothing more can be decided"
    elif code == "approval_request_expired":
        text = "This request has expired; a new one must be opened"
    elif code == quorum.Refusal.TOTP_NOT_ALLOWED:
        text = "This policy accepts only a WebAuthn authenticator, not a TOTP code"
    elif code == "step_up_failed":
        text = "Your authenticator's proof could not be verified; nothing was recorded"
    elif code == "step_up_required":
        text = "Deciding needs a fresh proof with your authenticator (or a TOTP code where allowed)"
    elif code == "step_up_locked":
        text = "Too many failed proofs: step-up is locked for a while"
    else:
        return code
    return f"{text} ({code})."


@dataclass(frozen=True, slots=True)
class KeyLine:
    id: str
    alias: str
    state: str
    systems: list[str]


def _keys(ids: Iterable[Any]) -> list[KeyLine]:
    wanted = []
    for value in ids:
        try:
            wanted.append(UUID(str(value)))
        except ValueError:
            continue
    found = {k.id: k for k in ManagedKey.objects.filter(id__in=wanted).prefetch_related("systems")}
    return [
        KeyLine(
            id=str(key_id),
            alias=found[key_id].alias if key_id in found else "(unknown key)",
            state=found[key_id].state if key_id in found else "",
            systems=sorted(s.name for s in found[key_id].systems.all()) if key_id in found else [],
        )
        for key_id in wanted
    ]


def approving_changes(request: ApprovalRequest) -> tuple[list[KeyLine], str]:
    """The keys a request names (alias and systems) and what approving it changes, in a sentence."""
    action = request.action
    details: dict[str, Any] = request.payload.get("details", {}) if isinstance(request.payload, dict) else {}
    named = details.get("keys") or details.get("all_keys") or [details.get("key")]
    keys = _keys(named if isinstance(named, list) else [])
    aliases = ", ".join(k.alias for k in keys) or "the keys named"
    if action == policies.CONFIRM_COMPROMISE:
        change = (
            f"{aliases} become compromised: they never encrypt again, decrypt only for incident responders and "
            "rewrap jobs (each use justified), and are restricted to decrypt-only on their backend."
        )
    elif action == policies.RESTORE_FALSE_POSITIVE:
        change = f"{aliases} go back to active (a false positive): they encrypt and decrypt again."
    elif action in (policies.ENCRYPTION_EXCEPTION, policies.COMPROMISED_KEY_DECRYPT_ACCESS):
        verb = "encrypt" if action == policies.ENCRYPTION_EXCEPTION else "decrypt"
        system = f" on {details['system']}" if details.get("system") else ""
        change = (
            f"{details.get('principal', '?')} may {verb} with {aliases}{system} for "
            f"{details.get('valid_hours', '?')} hour(s) from approval, at most "
            f"{details.get('operation_budget', '?')} operation(s), for: {details.get('purpose', '?')}."
        )
    elif action == policies.KEY_DESTRUCTION:
        change = f"{aliases}: destroyed, never to decrypt again (the metadata is kept)."
    elif action == policies.CLOSE_INCIDENT:
        change = f"Incident {details.get('incident', request.incident)} closes."
        if details.get("disposition") == "destroy":
            change += " Its keys are then destroyed (another quorum)."
        elif details.get("disposition"):
            change += " Its keys stay decrypt-only (archived)."
        if details.get("open_items"):
            change += f" {len(details['open_items'])} item(s) still open are waived as recorded below."
    elif action == policies.FACTOR_RECOVERY:
        change = f"Every second factor of {details.get('user', '?')} is revoked; they enrol again with their password."
    elif action == policies.POLICY_CHANGE:
        change = "The proposed policy version takes effect (the changes are listed below)."
    elif action == policies.REGULATORY_FILING_SIGNOFF:
        change = "The filing is signed off and may be submitted as it stands."
    else:
        change = f"{action_title(action)} takes effect."
    return keys, change
