"""The floor of each action: what no policy edit can go below (pure: the workflows import it too).

Adding a floored action is one line here. An action without a line has no floor beyond what its
policy says (and every policy still needs at least one approval).
"""

from __future__ import annotations

from approvals.actions import (
    COMPROMISED_KEY_DECRYPT_ACCESS,
    ENCRYPTION_EXCEPTION,
    FACTOR_RECOVERY,
    KEY_DESTRUCTION,
    POLICY_CHANGE,
    RESTORE_FALSE_POSITIVE,
)
from approvals.quorum import DUAL_CONTROL, NO_FLOOR, Floor

FLOORS: dict[str, Floor] = {
    ENCRYPTION_EXCEPTION: DUAL_CONTROL,
    RESTORE_FALSE_POSITIVE: DUAL_CONTROL,
    KEY_DESTRUCTION: DUAL_CONTROL,
    COMPROMISED_KEY_DECRYPT_ACCESS: DUAL_CONTROL,
    POLICY_CHANGE: DUAL_CONTROL,
    FACTOR_RECOVERY: DUAL_CONTROL,
}


def floor_of(action: str) -> Floor:
    return FLOORS.get(action, NO_FLOOR)
