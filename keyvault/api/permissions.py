"""Who may call which key endpoint (the services enforce the state rules on top)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


def any_of(*perms: str) -> type[BasePermission]:
    class AnyOf(BasePermission):
        message = f"this needs one of the permissions: {', '.join(p.split('.')[-1] for p in perms)}"

        def has_permission(self, request: Request, view: Any) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and any(user.has_perm(p) for p in perms))

    return AnyOf


GATE = "webapp.use_key_gate"
CUSTODY = "webapp.custody_keys"
RESPONDER = "webapp.respond_to_incidents"
AUDIT = "webapp.view_audit"

CanReadInventory = any_of(GATE, CUSTODY, RESPONDER, AUDIT)
CanCreateKeys = any_of(CUSTODY, GATE)
CanUseGate = any_of(GATE, RESPONDER)
CanRespond = any_of(RESPONDER)
CanCustody = any_of(CUSTODY)
