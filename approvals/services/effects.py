"""What an approved request does. Grants take effect here; state changes that a workflow is waiting to
carry out (its own request) are left to that workflow."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from approvals import policies
from approvals.errors import LegalHold, PolicyChanged
from approvals.models import ApprovalRequest
from approvals.services.factors import factors_revoke
from audit.actors import Actor
from ir_workflows.approvals.types import approval_workflow_id
from keyvault.errors import LegalHoldActive
from keyvault.services import lifecycle
from keyvault.services.exceptions import encryption_exception_create
from keyvault.services.grants import decrypt_grant_create

ApprovalEffect = Callable[[ApprovalRequest, Actor], dict[str, Any]]
_EFFECTS: dict[str, ApprovalEffect] = {}


def approval_effect_register(action: str, effect: ApprovalEffect) -> None:
    """What an approved request of ``action`` does, for actions an upper app owns (the playbook's
    publication, a review's sign-off, a period's attestation): registered in its ``AppConfig.ready()``.
    It runs in the transaction that records the final decision."""
    _EFFECTS[action] = effect


def _standalone(request: ApprovalRequest) -> bool:
    """True when no incident workflow waits for this request (it runs in its own request workflow)."""
    return request.workflow_id == approval_workflow_id(str(request.id))


def approval_apply(request: ApprovalRequest, *, actor: Actor) -> dict[str, Any]:
    if request.action in _EFFECTS:
        return _EFFECTS[request.action](request, actor)
    details: dict[str, Any] = request.payload["details"]
    reference = str(request.id)
    if request.action == policies.POLICY_CHANGE:
        current = policies.policy_current(details["policy"])
        if current.version != details["base_version"]:
            raise PolicyChanged(
                f"the {details['policy']} policy moved to version {current.version} since this change was proposed"
            )
        published = policies.policy_publish(
            action=details["policy"], fields=details["fields"], actor=actor, approval=request
        )
        return {"policy": published.action, "version": published.version}
    if request.action == policies.FACTOR_RECOVERY:
        revoked = factors_revoke(username=details["user"], actor=actor, approval=request)
        return {"revoked_factors": revoked}
    if request.action == policies.ENCRYPTION_EXCEPTION:
        exception = encryption_exception_create(
            key_id=UUID(details["key"]),
            principal=details["principal"],
            purpose=details["purpose"],
            reason=request.reason,
            valid_for=timedelta(hours=details["valid_hours"]),
            operation_budget=details["operation_budget"],
            actor=actor,
            incident=request.incident,
            approval_reference=reference,
        )
        return {"encryption_exception": exception.pk}
    if request.action == policies.COMPROMISED_KEY_DECRYPT_ACCESS:
        grant = decrypt_grant_create(
            key_id=UUID(details["key"]),
            principal=details["principal"],
            purpose=details["purpose"],
            valid_for=timedelta(hours=details["valid_hours"]),
            operation_budget=details["operation_budget"],
            actor=actor,
            incident=request.incident,
            approval_reference=reference,
        )
        return {"decrypt_grant": grant.pk}
    if not _standalone(request):
        return {}
    if request.action == policies.KEY_DESTRUCTION:
        try:
            key = lifecycle.key_destroy(
                key_id=UUID(details["key"]), actor=actor, reason=request.reason, incident=request.incident
            )
        except LegalHoldActive as exc:
            raise LegalHold(exc.message) from None
        return {"destroyed": str(key.id), "state": key.state}
    if request.action == policies.RESTORE_FALSE_POSITIVE:
        restored = [
            str(
                lifecycle.key_restore(
                    key_id=UUID(k), actor=actor, reason=request.reason, incident=request.incident, approval=reference
                ).id
            )
            for k in details["keys"]
        ]
        return {"restored": restored}
    if request.action == policies.CONFIRM_COMPROMISE:
        changed = []
        for key_id in details["keys"]:  # the lifecycle restricts them on their backend (after commit)
            changed.extend(
                lifecycle.key_compromise(
                    key_id=UUID(key_id), actor=actor, reason=request.reason, incident=request.incident
                )
            )
        return {"compromised": [str(k.id) for k in changed]}
    return {}
