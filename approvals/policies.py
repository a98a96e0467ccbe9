"""The shipped default policies (data) and the versioned policy store."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from approvals import quorum
from approvals.errors import (
    InvalidPolicy,
    PolicyBelowFloor,
    PolicyChanged,
    PolicyChangePending,
    PolicyChangeUnapproved,
    UnknownAction,
)
from approvals.floors import floor_of
from approvals.models import ApprovalPolicy, ApprovalRequest
from approvals.quorum import Requirement, requirements_from
from audit.actors import Actor
from audit.services import audit_record
from webapp.roles import CISO, COMMANDER, KEY_CUSTODIAN, LEGAL_DPO, ROLES, SECURITY_LEAD

HOUR = 3600
__all__ = [
    "CLOSE_INCIDENT",
    "COMPROMISED_KEY_DECRYPT_ACCESS",
    "CONFIRM_COMPROMISE",
    "CONTROL_ATTESTATION",
    "ENCRYPTION_EXCEPTION",
    "FACTOR_RECOVERY",
    "KEY_DESTRUCTION",
    "PLAYBOOK_PUBLISH",
    "POLICY_CHANGE",
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
    FACTOR_RECOVERY,
    KEY_DESTRUCTION,
    PLAYBOOK_PUBLISH,
    POLICY_CHANGE,
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
        "allow_totp": False,
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
    POLICY_CHANGE: {
        "description": "Publish a new version of an approval policy (the proposal shows the diff)",
        "requirements": [{"roles": [CISO], "count": 1}, {"roles": [SECURITY_LEAD], "count": 1}],
        "expires_after_seconds": 72 * HOUR,
        "reminder_after_seconds": [24 * HOUR],
        "escalate_after_seconds": 48 * HOUR,
        "escalation_role": CISO,
        "allow_totp": False,
    },
    FACTOR_RECOVERY: {
        "description": "Revoke the second factors of a person who lost them, so they can enrol new ones",
        "requirements": [{"roles": [SECURITY_LEAD], "count": 1}, {"roles": [CISO], "count": 1}],
        "expires_after_seconds": 24 * HOUR,
        "reminder_after_seconds": [4 * HOUR],
        "escalate_after_seconds": 12 * HOUR,
        "escalation_role": CISO,
        "allow_totp": False,
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


# Roles that may sit in a policy's requirements: the people who decide approvals.
APPROVER_ROLES = frozenset(role.slug for role in ROLES if "decide_approvals" in role.capabilities)
_LIMITS = {
    "expires_after_seconds": (300, 30 * 24 * HOUR),
    "escalate_after_seconds": (60, 30 * 24 * HOUR),
    "step_up_max_age_seconds": (30, 900),
}


def policy_current(action: str) -> ApprovalPolicy:
    policy = ApprovalPolicy.objects.filter(action=action, is_current=True).first()
    if policy is None:
        raise UnknownAction(f"no approval policy for action {action!r}", action=action)
    return policy


def policy_requirements(policy: ApprovalPolicy) -> list[Requirement]:
    return requirements_from(policy.requirements)


def policy_rules(policy: ApprovalPolicy, *, requester: str) -> quorum.Rules:
    """The policy as the quorum applies it: raised to its action's floor, whatever is stored."""
    return quorum.Rules.of(
        requirements=policy_requirements(policy),
        requester=requester,
        exclude_requester=policy.exclude_requester,
        veto=policy.veto_on_reject,
        allow_totp=policy.allow_totp,
        floor=floor_of(policy.action),
    )


def policy_fields(policy: ApprovalPolicy) -> dict[str, Any]:
    """The editable fields of a stored version, as JSON-ready values."""
    return {name: getattr(policy, name) for name in POLICY_FIELDS}


def _model_defaults() -> dict[str, Any]:
    fields = {field.name: field for field in ApprovalPolicy._meta.concrete_fields}
    return {name: fields[name].get_default() for name in POLICY_FIELDS}


def policy_fields_check(*, action: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Validate a complete or partial set of policy fields for ``action``; return the complete set
    (missing fields take the model's defaults). Raises InvalidPolicy, or PolicyBelowFloor when the
    policy would ask for less than the action's floor."""
    unknown = set(fields) - set(POLICY_FIELDS)
    if unknown:
        raise InvalidPolicy(f"unknown policy fields: {sorted(unknown)}")
    complete = {**_model_defaults(), **fields}
    try:
        requirements = requirements_from(complete["requirements"] or [])
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidPolicy(str(exc)) from None
    strangers = set().union(*(req.roles for req in requirements)) - APPROVER_ROLES
    if strangers:
        raise InvalidPolicy(f"not roles that decide approvals: {sorted(strangers)}; use {sorted(APPROVER_ROLES)}")
    for name in ("exclude_requester", "veto_on_reject", "allow_totp"):
        if not isinstance(complete[name], bool):
            raise InvalidPolicy(f"{name} must be true or false")
    for name, (low, high) in _LIMITS.items():
        value = complete[name]
        if value is None and name == "escalate_after_seconds":
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise InvalidPolicy(f"{name} must be an integer from {low} to {high}")
    reminders = complete["reminder_after_seconds"]
    if not isinstance(reminders, list) or not all(isinstance(r, int) and r > 0 for r in reminders):
        raise InvalidPolicy("reminder_after_seconds must be a list of positive integers (seconds)")
    if complete["escalation_role"] and complete["escalation_role"] not in APPROVER_ROLES:
        raise InvalidPolicy(f"escalation_role must be one of {sorted(APPROVER_ROLES)} (or empty)")
    if not isinstance(complete["parameters"], dict):
        raise InvalidPolicy("parameters must be an object")
    if not isinstance(complete["description"], str) or len(complete["description"]) > 300:
        raise InvalidPolicy("description must be text of at most 300 characters")
    floor = floor_of(action)
    problems = quorum.floor_shortfalls(requirements, floor)
    if floor.exclude_requester and not complete["exclude_requester"]:
        problems.append("the requester must be excluded")
    if floor.veto and not complete["veto_on_reject"]:
        problems.append("any rejection must veto")
    if floor.webauthn_only and complete["allow_totp"]:
        problems.append("only a WebAuthn authenticator may decide (TOTP not allowed)")
    if problems:
        raise PolicyBelowFloor(
            f"the {action} policy cannot go below its floor ({floor.describe()}): " + "; ".join(problems),
            floor=floor.describe(),
            problems=problems,
        )
    return complete


def policy_diff(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The fields that change, each as {"from": old, "to": new} (from None for a first version)."""
    return {
        name: {"from": None if before is None else before.get(name), "to": after[name]}
        for name in POLICY_FIELDS
        if before is None or before.get(name) != after[name]
    }


@transaction.atomic
def policy_publish(
    *, action: str, fields: dict[str, Any], actor: Actor, approval: ApprovalRequest | None = None
) -> ApprovalPolicy:
    """Make ``fields`` the current version of the policy for ``action``. Only two callers: the shipped
    defaults for an action that has no policy yet (bootstrap, at ``migrate``), and an approved
    ``policy_change`` request for that action, whose publication is written to the audit trail with
    its diff (every field "from" → "to", so the chain alone shows what was in force before). Anything
    else is refused (``policy_change_unapproved``): saving in the admin only proposes."""
    complete = policy_fields_check(action=action, fields=fields)
    previous = ApprovalPolicy.objects.select_for_update().filter(action=action).order_by("-version").first()
    if previous is not None and not _authorises(approval, action):
        raise PolicyChangeUnapproved(
            f"a new version of the {action} policy takes effect only through an approved {POLICY_CHANGE} request"
        )
    current = ApprovalPolicy.objects.filter(action=action, is_current=True).first()
    diff = policy_diff(policy_fields(current) if current else None, complete)
    if previous is not None:
        ApprovalPolicy.objects.filter(action=action, is_current=True).update(is_current=False)
    published = ApprovalPolicy.objects.create(
        action=action,
        version=(previous.version + 1 if previous else 1),
        is_current=True,
        created_by=approval.requested_by.get_username() if approval else actor.name,
        **complete,
    )
    if approval is not None:
        audit_record(
            action="approval.policy_published",
            actor=actor,
            subject_type="approval_policy",
            subject_id=action,
            reason=approval.reason,
            incident=approval.incident,
            data={
                "version": published.version,
                "previous_version": current.version if current else None,
                "diff": diff,
                "approval_request": str(approval.id),
                "payload_hash": approval.payload_hash,
                "proposed_by": published.created_by,
            },
        )
    return published


def policy_change_details(*, action: str, fields: dict[str, Any]) -> dict[str, Any]:
    """What a ``policy_change`` request carries: the policy, the version it changes, the complete new
    fields and the diff — computed here from the current version, never taken from the proposer."""
    if not isinstance(action, str) or not isinstance(fields, dict):
        raise InvalidPolicy("a policy change names the policy's action and its fields")
    current = policy_current(action)
    complete = policy_fields_check(action=action, fields={**policy_fields(current), **fields})
    diff = policy_diff(policy_fields(current), complete)
    if not diff:
        raise InvalidPolicy(f"nothing changes in the {action} policy")
    return {"policy": action, "base_version": current.version, "fields": complete, "diff": diff}


def policy_change_check(details: dict[str, Any]) -> tuple[str, str]:
    """Check a ``policy_change`` payload against the current version; return the request's subject.
    Called inside the transaction that opens the request: the current version's row is locked, so two
    proposals for one policy cannot both pass the "already pending" check."""
    ApprovalPolicy.objects.select_for_update().filter(action=str(details.get("policy")), is_current=True).first()
    expected = policy_change_details(action=details.get("policy"), fields=details.get("fields"))  # type: ignore[arg-type]
    if details.get("base_version") != expected["base_version"]:
        raise PolicyChanged(
            f"the {expected['policy']} policy is at version {expected['base_version']} now; propose again from it"
        )
    if details != expected:
        raise InvalidPolicy("a policy change carries exactly policy, base_version, fields and diff, as computed")
    pending = ApprovalRequest.objects.filter(
        action=POLICY_CHANGE, status=ApprovalRequest.Status.PENDING, subject_id=expected["policy"]
    ).first()
    if pending is not None:
        raise PolicyChangePending(
            f"a change of the {expected['policy']} policy is already awaiting approval: decide or cancel it first",
            request=str(pending.id),
        )
    return "approval_policy", expected["policy"]


def _authorises(approval: ApprovalRequest | None, action: str) -> bool:
    return (
        approval is not None
        and approval.action == POLICY_CHANGE
        and approval.status == ApprovalRequest.Status.APPROVED
        and approval.payload.get("details", {}).get("policy") == action
    )


def policies_sync_after_migrate(**_kwargs: Any) -> None:
    """Install the shipped default for every action that has no policy yet (never overwrites).

    Bootstrap: these versions are in force without an approval (nobody could approve before any
    policy exists). They are the release's code, at or above their floors (a test checks), recorded as
    version 1 by ``sequester:defaults``; the audit trail starts with the first change, whose diff
    names every value it replaces."""
    for action, fields in DEFAULT_POLICIES.items():
        if not ApprovalPolicy.objects.filter(action=action).exists():
            policy_publish(action=action, fields=dict(fields), actor=Actor.system("defaults"))
