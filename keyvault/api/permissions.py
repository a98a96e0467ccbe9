"""The API's permissions. Who may call which key endpoint is ``keyvault.policy.may_call``, asked before
the request is parsed.

The services ask the same policy again with the key's state (segregation, grants, exceptions).
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from keyvault.policy import Operation, may_call
from keyvault.refusals import ANY_KEY, Refusal, ledger
from keyvault.types import caller_for_user
from webapp.api.actors import actor_from_request

# A refused call of the gate itself is a refused use (evidence), even before any key is looked up.
_USES = {Operation.ENCRYPT: "encrypt", Operation.DECRYPT: "decrypt", Operation.REWRAP: "rewrap"}


def any_of(*perms: str) -> type[BasePermission]:
    """Any one of these Django permissions (the other apps' API permission)."""

    class AnyOf(BasePermission):
        message = f"this needs one of the permissions: {', '.join(p.split('.')[-1] for p in perms)}"

        def has_permission(self, request: Request, view: Any) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and any(user.has_perm(p) for p in perms))

    return AnyOf


def allowed(operation: Operation) -> type[BasePermission]:
    """Key endpoints: whoever ``keyvault.policy`` lets call ``operation``."""

    class MayCall(BasePermission):
        message = f"this caller may not {operation.value.replace('_', ' ')} keys"

        def has_permission(self, request: Request, view: Any) -> bool:
            user = request.user
            if not (user and user.is_authenticated):
                return False
            if may_call(caller_for_user(user), operation):
                return True
            if operation in _USES:
                ledger.record(
                    Refusal(ANY_KEY, _USES[operation], "denied", "403 permission_denied"),
                    actor=actor_from_request(request),
                    key_named=str(view.kwargs.get("key_id") or view.kwargs.get("alias") or ""),
                )
            return False

    MayCall.__name__ = f"May{operation.name.title().replace('_', '')}"
    return MayCall


Op = Operation
CanReadInventory = allowed(Op.READ)
CanListQuarantine = allowed(Op.LIST_QUARANTINE)
CanCreateKeys = allowed(Op.CREATE)
CanSuspend = allowed(Op.SUSPEND)
CanCompromise = allowed(Op.COMPROMISE)
CanActivate = allowed(Op.ACTIVATE)
CanDeactivate = allowed(Op.DEACTIVATE)
CanRotate = allowed(Op.ROTATE)
CanRegisterItems = allowed(Op.REGISTER_ITEMS)
CanEncrypt = allowed(Op.ENCRYPT)
CanDecrypt = allowed(Op.DECRYPT)
CanRewrap = allowed(Op.REWRAP)
