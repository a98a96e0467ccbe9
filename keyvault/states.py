"""NIST SP 800-57 key states and the transitions between them (pure data, no Django)."""

from __future__ import annotations

from enum import StrEnum


class KeyState(StrEnum):
    PRE_ACTIVE = "pre_active"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DEACTIVATED = "deactivated"
    COMPROMISED = "compromised"
    DESTROYED = "destroyed"
    DESTROYED_COMPROMISED = "destroyed_compromised"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


S = KeyState

# Every legal transition, named by the one service that may perform it: ``activate`` takes only a
# pre-active key; suspended goes back to active only by ``restore`` (an approved false positive);
# deactivated and compromised never return to active. A quarantined key leaves quarantine only by
# restore, compromise or destruction, never by a plain retirement.
TRANSITIONS: dict[tuple[KeyState, KeyState], str] = {
    (S.PRE_ACTIVE, S.ACTIVE): "activate",
    (S.PRE_ACTIVE, S.SUSPENDED): "suspend",
    (S.PRE_ACTIVE, S.DESTROYED): "destroy",
    (S.ACTIVE, S.SUSPENDED): "suspend",
    (S.ACTIVE, S.DEACTIVATED): "deactivate",
    (S.ACTIVE, S.COMPROMISED): "compromise",
    (S.SUSPENDED, S.ACTIVE): "restore",
    (S.SUSPENDED, S.COMPROMISED): "compromise",
    (S.DEACTIVATED, S.SUSPENDED): "suspend",
    (S.DEACTIVATED, S.COMPROMISED): "compromise",
    (S.DEACTIVATED, S.DESTROYED): "destroy",
    (S.COMPROMISED, S.DESTROYED_COMPROMISED): "destroy",
    (S.DESTROYED, S.DESTROYED_COMPROMISED): "compromise",
    (S.PRE_ACTIVE, S.COMPROMISED): "compromise",
}

# Segregated: out of the active inventory, alias resolution and every encryption path.
QUARANTINED = frozenset({S.SUSPENDED, S.COMPROMISED})
DESTROYED_STATES = frozenset({S.DESTROYED, S.DESTROYED_COMPROMISED})
INVENTORY = frozenset({S.PRE_ACTIVE, S.ACTIVE, S.DEACTIVATED})
# States whose restriction to decrypt-only is applied on the backend and re-verified.
RESTRICTED = frozenset({S.SUSPENDED, S.DEACTIVATED, S.COMPROMISED})
# States a containment (suspend) moves from; others are already at least as restricted.
SUSPENDABLE = frozenset({S.PRE_ACTIVE, S.ACTIVE, S.DEACTIVATED})


def transition_allowed(source: KeyState, target: KeyState, operation: str | None = None) -> bool:
    """Whether ``source`` → ``target`` is legal (and, with ``operation``, legal for that service)."""
    name = TRANSITIONS.get((source, target))
    return name is not None and (operation is None or name == operation)
