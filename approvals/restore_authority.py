"""The authority behind ``key_restore``: an approved ``restore_false_positive`` request naming the key.

Registered with key custody in ``ApprovalsConfig.ready()``: key custody asks, it never imports approvals.
"""

from __future__ import annotations

from uuid import UUID

from approvals import policies, quorum
from approvals.models import ApprovalRequest
from approvals.selectors import request_outcome


def restore_approved(approval: str, key_id: UUID) -> bool:
    """True when ``approval`` is a ``restore_false_positive`` request that names ``key_id`` and has its
    quorum (recorded as approved, or being approved now: the effect runs before the status is saved)."""
    try:
        request_id = UUID(str(approval))
    except ValueError:
        return False
    request = (
        ApprovalRequest.objects.select_related("policy", "requested_by")
        .filter(id=request_id, action=policies.RESTORE_FALSE_POSITIVE)
        .first()
    )
    if request is None or str(key_id) not in request.payload.get("details", {}).get("keys", []):
        return False
    if request.status == ApprovalRequest.Status.APPROVED:
        return True
    if request.status != ApprovalRequest.Status.PENDING:
        return False
    return request_outcome(request).status == quorum.APPROVED
