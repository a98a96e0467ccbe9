"""Reads of key custody: the active inventory, the quarantine, one key as a caller may see it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import Max, QuerySet, Sum

from keyvault.errors import KeyNotFound
from keyvault.models import KeyUsage, ManagedKey
from keyvault.policy import Operation, hidden, may_call
from keyvault.states import INVENTORY, QUARANTINED, RESTRICTED, KeyState
from keyvault.types import caller_for_user
from keyvault.usage import tally


def _with_relations(queryset: QuerySet[ManagedKey]) -> QuerySet[ManagedKey]:
    return queryset.select_related("custodian", "parent", "replaced_by").prefetch_related("versions")


KEY_ORDERING = ("alias", "id")


def keys_inventory(
    *,
    state: str | None = None,
    alias: str | None = None,
    alias_prefix: str | None = None,
    parent: UUID | None = None,
) -> QuerySet[ManagedKey]:
    """The active inventory: never a suspended, compromised or destroyed key (segregation). ``parent``:
    the keys a KEK wrapped (one level of the hierarchy)."""
    states = [s.value for s in INVENTORY]
    if state is not None:
        states = [s for s in states if s == state]
    queryset = ManagedKey.objects.filter(state__in=states)
    if alias:
        queryset = queryset.filter(alias=alias)
    if alias_prefix:
        queryset = queryset.filter(alias__startswith=alias_prefix)
    if parent is not None:
        queryset = queryset.filter(parent_id=parent)
    return _with_relations(queryset).order_by(*KEY_ORDERING)


def keys_quarantine() -> QuerySet[ManagedKey]:
    """Suspended and compromised keys; for incident-response roles only (the view checks)."""
    return _with_relations(ManagedKey.objects.filter(state__in=[s.value for s in QUARANTINED])).order_by(*KEY_ORDERING)


def key_visible_to(*, key_id: UUID, user: Any) -> ManagedKey:
    """A key as ``user`` may see it: quarantined keys exist only for incident responders."""
    key = _with_relations(ManagedKey.objects.filter(id=key_id)).first()
    if key is None or hidden(caller_for_user(user), key.key_state):
        raise KeyNotFound(f"no key with id {key_id}")
    return key


def key_usage_totals(key: ManagedKey) -> dict[str, Any]:
    """Counters as written (this process's pending tally is written first; others' within a second)."""
    tally.flush()
    totals = KeyUsage.objects.filter(key=key).aggregate(
        encrypt=Sum("encrypt_count"), decrypt=Sum("decrypt_count"), last=Max("last_used_at")
    )
    return {
        "encrypt_count": totals["encrypt"] or 0,
        "decrypt_count": totals["decrypt"] or 0,
        "last_used_at": totals["last"],
    }


def key_restriction_status(key: ManagedKey) -> str:
    """How far decrypt-only is on the key's backend, as the commander reads it."""
    if key.manager_id is not None:
        if key.restricted_at is not None:
            return "decrypt-only on the manager: verified"
        if key.key_state in RESTRICTED:
            reason = key.restriction_pending if key.restriction_pending not in ("", "requested") else ""
            return "pending on the manager" + (f" ({reason})" if reason else "")
        return "not restricted (encrypts on the manager)"
    if key.restricted_at is not None:
        return "verified"
    return "pending" if key.key_state in RESTRICTED else "not restricted"


def keys_visible(user: Any) -> QuerySet[ManagedKey]:
    """Every key ``user`` may know of (none without the read capability): segregated keys exist only
    for incident responders — the same rule as ``key_visible_to``, as a query."""
    caller = caller_for_user(user)
    if not may_call(caller, Operation.READ):
        return ManagedKey.objects.none()
    return ManagedKey.objects.filter(state__in=[state.value for state in KeyState if not hidden(caller, state)])
