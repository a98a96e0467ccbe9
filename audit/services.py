"""``audit_record``: the one function through which every audit event is written."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit.chain import GENESIS_HASH, event_hash, timestamp
from audit.models import AuditEvent
from audit.types import Actor

# pg_advisory_xact_lock key that serialises appends to the chain (held until the caller commits).
_CHAIN_LOCK = 0x5E0E_57E2


def _lock_chain_head() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
    # SQLite: transactions are IMMEDIATE (settings), so one writer at a time already.


def audit_record(
    *,
    action: str,
    actor: Actor,
    subject_type: str,
    subject_id: object,
    reason: str = "",
    incident: str = "",
    affected_system: str = "",
    data: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction (it commits or rolls back with it)."""
    with transaction.atomic():
        _lock_chain_head()
        head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
        occurred_at = timezone.now()
        document: dict[str, Any] = {
            "seq": seq,
            "occurred_at": timestamp(occurred_at),
            "actor": actor.name,
            "actor_type": actor.type,
            "action": action,
            "subject_type": subject_type,
            "subject_id": str(subject_id),
            "reason": reason,
            "incident": incident,
            "affected_system": affected_system,
            "source_ip": actor.source_ip,
            "user_agent": actor.user_agent,
            "data": dict(data or {}),
            "prev_hash": prev_hash,
        }
        document["hash"] = event_hash(document)
        return AuditEvent.objects.create(
            **{key: value for key, value in document.items() if key != "occurred_at"}, occurred_at=occurred_at
        )


def audit_document(event: AuditEvent) -> dict[str, Any]:
    """The event as the chain hashed it (what an export carries and the verifier re-hashes)."""
    return {
        "seq": event.seq,
        "occurred_at": timestamp(event.occurred_at),
        "actor": event.actor,
        "actor_type": event.actor_type,
        "action": event.action,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "reason": event.reason,
        "incident": event.incident,
        "affected_system": event.affected_system,
        "source_ip": event.source_ip,
        "user_agent": event.user_agent,
        "data": event.data,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }
