"""The shipped default policies (data) and the versioned policy store."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from approvals.errors import UnknownAction
from approvals.models import ApprovalPolicy
from approvals.quorum import Requirement, requirements_from
from webapp.roles import CISO, COMMANDER, KEY_CUSTODIAN, LEGAL_DPO, SECURITY_LEAD

HOUR = 3600
__all__ = [
    "CLOSE_INCIDENT",
    "COMPROMISED_KEY_DECRYPT_ACCESS",
    "CONFIRM_COMPROMISE",
    "CONTROL_ATTESTATION",
    "ENCRYPTION_EXCEPTION",
    "KEY_DESTRUCTION",
    "PLAYBOOK_PUBLISH",
    "POST_INCIDENT_REVIEW",
    "REGULATORY_FILING_SIGNOFF",
    "RESTORE_FALSE_POSITIVE",
]

from approvals.actions import (  # noqa: E402 - re-exported: callers name actions through policies
    CLOSE_INCIDENT,
    COMPROMISED_KEY_DECRYPT_ACCESS,
    CONFIRM_COMPROMISE,
    CONTROL_ATTESTATION,
    ENCRYPTION_EXCEPTION,
    KEY_DESTRUCTION,
    PLAYBOOK_PUBLISH,
    POST_INCIDENT_REVIEW,
    REGULATORY_FILING_SIGNOFF,
    RESTORE_FALSE_POSITIVE,
)

DEFAULT_POLICIES: dict[str, dict[str, Any]] = {
    CONFIRM_COMPROMISE: {
        "description": "Confirm that a suspended key is compromised",
        "requirements": [{"roles": [SECURITY_LEAD], "count": 1}, {"roles": [KEY_CUSTODIAN], "count": 1}],
        "expires_after_seconds": 4 * HOUR,
        "reminder_after_seconds": [HOUR // 2, HOUR, 2 * HOUR],
        "escalate_after_seconds": 2 * HOUR,
        "escalation_role": CISO,
        "allow_totp": True,
    },
    RESTORE_FALSE_POSITIVE: {
        "description": "Restore a suspended key to active (false positive): the dangerous direction",
        "requirements": [{"roles": [SECURITY_LEAD], "count": 1}, {"roles": [CISO], "count": 1}],
        "expires_after_seconds": 4 * HOUR,
        "reminder_after_seconds": [HOUR, 2 * HOUR],
        "escalate_after_seconds": 3 * HOUR,
        "escalation_role": CISO,
        "allow_totp": False,
    },
    ENCRYPTION_EXCEPTION: {
        "description": "Allow a caller to encrypt with a compromised key, time-boxed and budgeted",
        "requirements": [{"roles": [KEY_CUSTODIAN], "count": 1}, {"roles": [CISO], "count": 1}],
        "expires_after_seconds": 2 * HOUR,
        "reminder_after_seconds": [HOUR // 2, HOUR],
        "escalate_after_seconds": HOUR,
        "escalation_role": CISO,
        "allow_totp": False,
        "parameters": {"max_valid_hours": 24, "max_operations": 1_000_000},
    },
    COMPROMISED_KEY_DECRYPT_ACCESS: {
        "description": "Let a person decrypt with a compromised key, time-boxed and budgeted",
        "requirements": [{"roles": [SECURITY_LEAD, CISO], "count": 1}, {"roles": [KEY_CUSTODIAN], "count": 1}],
        "expires_after_seconds": 2 * HOUR,
        "reminder_after_seconds": [HOUR // 2],
        "escalate_after_seconds": HOUR,
        "escalation_role": CISO,
        "allow_totp": True,
        "parameters": {"max_valid_hours": 24, "max_operations": 1_000_000},
    },
    REGULATORY_FILING_SIGNOFF: {
        "description": "Sign off a regulatory filing",
        "requirements": [{"roles": [LEGAL_DPO], "count": 1}],
        "expires_after_seconds": 24 * HOUR,
        "reminder_after_seconds": [2 * HOUR, 8 * HOUR],
        "escalate_after_seconds": 12 * HOUR,
        "escalation_role": CISO,
        "allow_totp": True,
    },
    KEY_DESTRUCTION: {
        "description": "Destroy a key's material (refused while a legal hold exists)",
        "requirements": [{"roles": [KEY_CUSTODIAN], "count": 1}, {"roles": [CISO], "count": 1}],
        "expires_after_seconds": 24 * HOUR,
        "reminder_after_seconds": [4 * HOUR],
        "escalate_after_seconds": 12 * HOUR,
        "escalation_role": CISO,
        "allow_totp": False,
    },
    CLOSE_INCIDENT: {
        "description": "Close an incident (duties met, keys destroyed or archived decrypt-only)",
        "requirements": [{"roles": [SECURITY_LEAD, CISO], "count": 1}, {"roles": [LEGAL_DPO], "count": 1}],
        "expires_after_seconds": 72 * HOUR,
        "reminder_after_seconds": [24 * HOUR],
        "escalate_after_seconds": 48 * HOUR,
        "escalation_role": CISO,
        "allow_totp": True,
    },
    # Evaluating the control (issue 12): each is two distinct people in two roles, the requester excluded.
    PLAYBOOK_PUBLISH: {
        "description": "Publish a version of the incident-response playbook (the controlled procedure)",
        "requirements": [{"roles": [SECURITY_LEAD], "count": 1}, {"roles": [CISO], "count": 1}],
        "expires_after_seconds": 7 * 24 * HOUR,
        "reminder_after_seconds": [24 * HOUR, 72 * HOUR],
        "escalate_after_seconds": 5 * 24 * HOUR,
        "escalation_role": CISO,
        "allow_totp": False,
    },
    POST_INCIDENT_REVIEW: {
        "description": "Sign off an incident's post-incident review (commander and security lead)",
        "requirements": [{"roles": [COMMANDER], "count": 1}, {"roles": [SECURITY_LEAD], "count": 1}],
        "expires_after_seconds": 7 * 24 * HOUR,
        "reminder_after_seconds": [24 * HOUR, 72 * HOUR],
        "escalate_after_seconds": 5 * 24 * HOUR,
        "escalation_role": CISO,
        "allow_totp": True,
    },
    CONTROL_ATTESTATION: {
        "description": "Attest a period's report of the key-compromise control (the control owner signs)",
        "requirements": [{"roles": [CISO], "count": 1}, {"roles": [SECURITY_LEAD, LEGAL_DPO], "count": 1}],
        "expires_after_seconds": 14 * 24 * HOUR,
        "reminder_after_seconds": [48 * HOUR, 7 * 24 * HOUR],
        "escalate_after_seconds": 10 * 24 * HOUR,
        "escalation_role": CISO,
        "allow_totp": False,
    },
}

POLICY_FIELDS = (
    "description",
    "requirements",
    "exclude_requester",
    "veto_on_reject",
    "expires_after_seconds",
    "reminder_after_seconds",
    "escalate_after_seconds",
    "escalation_role",
    "allow_totp",
    "step_up_max_age_seconds",
    "parameters",
)


def policy_current(action: str) -> ApprovalPolicy:
    policy = ApprovalPolicy.objects.filter(action=action, is_current=True).first()
    if policy is None:
        raise UnknownAction(f"no approval policy for action {action!r}", action=action)
    return policy


def policy_requirements(policy: ApprovalPolicy) -> list[Requirement]:
    return requirements_from(policy.requirements)


@transaction.atomic
def policy_publish(*, action: str, fields: dict[str, Any], actor: str) -> ApprovalPolicy:
    """A new version of the policy for ``action``; the previous one stays for the requests that use it."""
    requirements_from(fields.get("requirements", []))  # validate before anything is written
    unknown = set(fields) - set(POLICY_FIELDS)
    if unknown:
        raise ValueError(f"unknown policy fields: {sorted(unknown)}")
    previous = ApprovalPolicy.objects.select_for_update().filter(action=action).order_by("-version").first()
    if previous is not None:
        ApprovalPolicy.objects.filter(action=action, is_current=True).update(is_current=False)
    return ApprovalPolicy.objects.create(
        action=action, version=(previous.version + 1 if previous else 1), is_current=True, created_by=actor, **fields
    )


def policies_sync_after_migrate(**_kwargs: Any) -> None:
    """Install the shipped default for every action that has no policy yet (never overwrites)."""
    for action, fields in DEFAULT_POLICIES.items():
        if not ApprovalPolicy.objects.filter(action=action).exists():
            policy_publish(action=action, fields=dict(fields), actor="sequester:defaults")
