"""What each action's request carries, checked before a request opens (and again on approval)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from approvals import policies
from approvals.errors import InvalidApprovalRequest, LegalHold
from approvals.models import ApprovalPolicy
from keyvault.models import ManagedKey
from keyvault.states import KeyState


def _key(payload: dict[str, Any], field: str = "key") -> ManagedKey:
    try:
        key_id = UUID(str(payload[field]))
    except (KeyError, ValueError):
        raise InvalidApprovalRequest(f"the payload must name a key id in {field!r}") from None
    key = ManagedKey.objects.filter(id=key_id).first()
    if key is None:
        raise InvalidApprovalRequest(f"no key with id {key_id}")
    return key


def _keys(payload: dict[str, Any]) -> list[ManagedKey]:
    ids = payload.get("keys")
    if not isinstance(ids, list) or not ids:
        raise InvalidApprovalRequest("the payload must list the key ids in 'keys'")
    return [_key({"key": key_id}) for key_id in ids]


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


def _scoped_grant(payload: dict[str, Any], policy: ApprovalPolicy) -> None:
    key = _key(payload)
    if key.key_state is not KeyState.COMPROMISED:
        raise InvalidApprovalRequest(f"key {key.id} is {key.key_state.label}, not compromised")
    _text(payload, "principal")
    _text(payload, "purpose")
    _positive_int(payload, "valid_hours", int(policy.parameters.get("max_valid_hours", 24)))
    _positive_int(payload, "operation_budget", int(policy.parameters.get("max_operations", 1_000_000)))


def payload_check(action: str, payload: dict[str, Any], policy: ApprovalPolicy) -> tuple[str, str]:
    """Validate ``payload`` for ``action``; return the request's subject (type, id)."""
    if action in (policies.ENCRYPTION_EXCEPTION, policies.COMPROMISED_KEY_DECRYPT_ACCESS):
        _scoped_grant(payload, policy)
        return "key", str(payload["key"])
    if action == policies.KEY_DESTRUCTION:
        key = _key(payload)
        if key.legal_hold:
            raise LegalHold(f"key {key.id} is under legal hold: it cannot be destroyed")
        return "key", str(key.id)
    if action in (policies.CONFIRM_COMPROMISE, policies.RESTORE_FALSE_POSITIVE):
        keys = _keys(payload)
        if action == policies.RESTORE_FALSE_POSITIVE and any(k.key_state is not KeyState.SUSPENDED for k in keys):
            raise InvalidApprovalRequest("only suspended keys can be restored")
        incident = payload.get("incident")
        return ("incident", str(incident)) if incident else ("key", str(keys[0].id))
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
