"""What each action's request carries, checked before a request opens (and again on approval)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from approvals import policies
from approvals.errors import InvalidApprovalRequest, LegalHold, NotEligible
from approvals.models import ApprovalPolicy, ApprovalRequest
from keyvault.models import ManagedKey
from keyvault.policy import SYSTEM, Caller, hidden
from keyvault.services.lifecycle import key_destruction_check
from keyvault.states import KeyState
from keyvault.types import caller_for_user


def _key(payload: dict[str, Any], field: str = "key", *, caller: Caller = SYSTEM) -> ManagedKey:
    try:
        key_id = UUID(str(payload[field]))
    except (KeyError, ValueError):
        raise InvalidApprovalRequest(f"the payload must name a key id in {field!r}") from None
    key = ManagedKey.objects.filter(id=key_id).first()
    # Segregation (keyvault.policy): a quarantined key does not exist for a requester outside incident
    # response, so the answer cannot tell a suspended key from a missing one.
    if key is None or hidden(caller, key.key_state):
        raise InvalidApprovalRequest(f"no key with id {key_id}")
    return key


def _keys(payload: dict[str, Any], *, caller: Caller = SYSTEM) -> list[ManagedKey]:
    ids = payload.get("keys")
    if not isinstance(ids, list) or not ids:
        raise InvalidApprovalRequest("the payload must list the key ids in 'keys'")
    return [_key({"key": key_id}, caller=caller) for key_id in ids]


def _positive_int(payload: dict[str, Any], field: str, maximum: int) -> int:
    value = payload.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= maximum:
        raise InvalidApprovalRequest(f"{field!r} must be an integer from 1 to {maximum}")
    return value


def _text(payload: dict[str, Any], field: str) -> str:
    value = payload.get(field)
    if not isinstance(value, str) or not value.strip():
        raise InvalidApprovalRequest(f"{field!r} is required")
    return value.strip()


def _scoped_grant(payload: dict[str, Any], policy: ApprovalPolicy, caller: Caller) -> None:
    key = _key(payload, caller=caller)
    if key.key_state is not KeyState.COMPROMISED:
        raise InvalidApprovalRequest(f"key {key.id} is {key.key_state.label}, not compromised")
    _text(payload, "principal")
    _text(payload, "purpose")
    _positive_int(payload, "valid_hours", int(policy.parameters.get("max_valid_hours", 24)))
    _positive_int(payload, "operation_budget", int(policy.parameters.get("max_operations", 1_000_000)))


def _factor_recovery(payload: dict[str, Any], requested_by: Any) -> tuple[str, str]:
    from approvals.services.factors import user_has_factor

    if payload != {"user": requested_by.get_username()}:
        raise InvalidApprovalRequest("a factor recovery is asked by the person themselves: payload {'user': <you>}")
    if not user_has_factor(requested_by):
        raise InvalidApprovalRequest("you have no second factor to recover: enrol one with your password")
    pending = ApprovalRequest.objects.filter(
        action=policies.FACTOR_RECOVERY, status=ApprovalRequest.Status.PENDING, subject_id=requested_by.get_username()
    ).exists()
    if pending:
        raise InvalidApprovalRequest("a recovery of your factors is already awaiting approval")
    return "user", requested_by.get_username()


def payload_check(
    action: str, payload: dict[str, Any], policy: ApprovalPolicy, *, requested_by: Any, by_system: bool = False
) -> tuple[str, str]:
    """Validate ``payload`` for ``action`` (and who may ask for it), the keys it names as ``requested_by``
    may see them (``by_system``: Sequester itself opens it); return the request's subject (type, id)."""
    caller = SYSTEM if by_system else caller_for_user(requested_by)
    if action == policies.POLICY_CHANGE:
        if not requested_by.has_perm("approvals.change_approvalpolicy"):
            raise NotEligible("only an administrator of approval policies may propose a policy change")
        return policies.policy_change_check(payload)
    if action == policies.FACTOR_RECOVERY:
        return _factor_recovery(payload, requested_by)
    if action in (policies.ENCRYPTION_EXCEPTION, policies.COMPROMISED_KEY_DECRYPT_ACCESS):
        _scoped_grant(payload, policy, caller)
        return "key", str(payload["key"])
    if action == policies.KEY_DESTRUCTION:
        key = _key(payload, caller=caller)
        if key.legal_hold:
            raise LegalHold(f"key {key.id} is under legal hold: it cannot be destroyed")
        key_destruction_check(key)  # e.g. wrapped items not rewrapped yet: 409 rewrap_incomplete
        return "key", str(key.id)
    if action in (policies.CONFIRM_COMPROMISE, policies.RESTORE_FALSE_POSITIVE):
        keys = _keys(payload, caller=caller)
        if action == policies.RESTORE_FALSE_POSITIVE and any(k.key_state is not KeyState.SUSPENDED for k in keys):
            raise InvalidApprovalRequest("only suspended keys can be restored")
        incident = payload.get("incident")
        return ("incident", str(incident)) if incident else ("key", str(keys[0].id))
    if action == policies.REGULATORY_FILING_SIGNOFF and "notification" in payload:
        return "notification", _text(payload, "notification")  # a message to a regulator: its exact text
    if action in (policies.CLOSE_INCIDENT, policies.REGULATORY_FILING_SIGNOFF):
        subject = _text(payload, "incident" if action == policies.CLOSE_INCIDENT else "obligation")
        return ("incident" if action == policies.CLOSE_INCIDENT else "obligation"), subject
    if action in _SUBJECT_FIELD:
        subject_type = _SUBJECT_FIELD[action]
        return subject_type, _text(payload, subject_type)
    raise InvalidApprovalRequest(f"no payload rules for action {action!r}")


# Actions whose payload names its subject in one text field (the subject type); the services that open
# these requests build the rest of the payload from their own records.
_SUBJECT_FIELD = {
    policies.PLAYBOOK_PUBLISH: "playbook_version",
    policies.POST_INCIDENT_REVIEW: "review",
    policies.CONTROL_ATTESTATION: "period_report",
}
