"""The floor of each action: what no policy edit can go below (pure: the workflows import it too).

Adding a floored action is one line here. An action without a line has no floor beyond what its
policy says (and every policy still needs at least one approval).
"""

from __future__ import annotations

from approvals.actions import (
    COMPROMISED_KEY_DECRYPT_ACCESS,
    CONTROL_ATTESTATION,
    ENCRYPTION_EXCEPTION,
    FACTOR_RECOVERY,
    KEY_DESTRUCTION,
    PLAYBOOK_PUBLISH,
    POLICY_CHANGE,
    POST_INCIDENT_REVIEW,
    RESTORE_FALSE_POSITIVE,
)
from approvals.quorum import DUAL_CONTROL, NO_FLOOR, Floor

# Two people in two roles, the requester excluded, either step-up factor (a review's sign-off).
TWO_PEOPLE = Floor(people=2, roles=2, exclude_requester=True, veto=True)

FLOORS: dict[str, Floor] = {
    ENCRYPTION_EXCEPTION: DUAL_CONTROL,
    RESTORE_FALSE_POSITIVE: DUAL_CONTROL,
    KEY_DESTRUCTION: DUAL_CONTROL,
    COMPROMISED_KEY_DECRYPT_ACCESS: DUAL_CONTROL,
    POLICY_CHANGE: DUAL_CONTROL,
    FACTOR_RECOVERY: DUAL_CONTROL,
    PLAYBOOK_PUBLISH: DUAL_CONTROL,
    CONTROL_ATTESTATION: DUAL_CONTROL,
    POST_INCIDENT_REVIEW: TWO_PEOPLE,
}


def floor_of(action: str) -> Floor:
    return FLOORS.get(action, NO_FLOOR)
