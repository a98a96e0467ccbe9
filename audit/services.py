"""``audit_record``: the one function through which every audit event is written."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit.actors import Actor
from audit.chain import GENESIS_HASH, event_hash, timestamp
from audit.models import AuditEvent
from audit.offline_verifier import CONTENT_FIELDS

# pg_advisory_xact_lock key that serialises appends to the chain (held until the caller commits).
_CHAIN_LOCK = 0x5E0E_57E2


def _lock_chain_head() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
    # SQLite: transactions are IMMEDIATE (settings), so one writer at a time already.


@dataclass(frozen=True, slots=True)
class EventDraft:
    """One event of a batch written by ``audit_record_many``."""

    action: str
    subject_type: str
    subject_id: object
    reason: str = ""
    incident: str = ""
    affected_system: str = ""
    data: Mapping[str, Any] | None = None


_EVENT_FIELDS = (*CONTENT_FIELDS, "prev_hash", "hash")  # the chained content, then its links


def _document(seq: int, prev_hash: str, occurred_at: str, actor: Actor, draft: EventDraft) -> dict[str, Any]:
    """The event as the chain hashes it; ``occurred_at`` spelled by ``timestamp``."""
    document: dict[str, Any] = {
        "seq": seq,
        "occurred_at": occurred_at,
        "actor": actor.name,
        "actor_type": actor.type,
        "action": draft.action,
        "subject_type": draft.subject_type,
        "subject_id": str(draft.subject_id),
        "reason": draft.reason,
        "incident": draft.incident,
        "affected_system": draft.affected_system,
        "source_ip": actor.source_ip,
        "user_agent": actor.user_agent,
        "data": dict(draft.data or {}),
        "prev_hash": prev_hash,
    }
    document["hash"] = event_hash(document)
    return document


_deferred = threading.local()


@contextmanager
def audit_batch() -> Iterator[None]:
    """Inside the block, events are collected and appended to the chain together when it ends (still
    inside the caller's transaction). The chain's lock is then held only from that append to the
    commit, instead of from the first event on: concurrent transactions wait much less."""
    if getattr(_deferred, "events", None) is not None:
        yield  # nested: the outer batch appends
        return
    _deferred.events = []
    try:
        yield
        events: list[tuple[Actor, EventDraft]] = _deferred.events
    finally:
        _deferred.events = None
    _append(events)


def audit_record_many(*, actor: Actor, drafts: list[EventDraft]) -> int:
    """Append many events in one statement (a containment of thousands of keys): same chain, same rules."""
    if not drafts:
        return 0
    buffer = getattr(_deferred, "events", None)
    if buffer is not None:
        buffer.extend((actor, draft) for draft in drafts)
        return len(drafts)
    return _append([(actor, draft) for draft in drafts])


def _append(events: list[tuple[Actor, EventDraft]]) -> int:
    if not events:
        return 0
    with transaction.atomic(savepoint=False):
        _lock_chain_head()
        head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = (head[0], head[1]) if head else (0, GENESIS_HASH)
        occurred_at = timezone.now()
        spelled = timestamp(occurred_at)
        documents = []
        for actor, draft in events:
            seq += 1
            document = _document(seq, prev_hash, spelled, actor, draft)
            prev_hash = document["hash"]
            documents.append(document)
        _insert(documents, occurred_at)
    return len(documents)


# Past this many events a batch is streamed with COPY (PostgreSQL): one statement, no model per row.
_COPY_FROM = 50
_COLUMNS = (*(name for name in _EVENT_FIELDS if name != "occurred_at"), "occurred_at")


def _insert(documents: list[dict[str, Any]], occurred_at: Any) -> None:
    """The documents as rows, in one statement however many (the chain's order is their ``seq``)."""
    if connection.vendor != "postgresql" or len(documents) < _COPY_FROM:
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(**{k: v for k, v in document.items() if k != "occurred_at"}, occurred_at=occurred_at)
                for document in documents
            ],
            batch_size=2000,
        )
        return
    statement = f"COPY {AuditEvent._meta.db_table} ({', '.join(_COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for document in documents:
            copy.write_row(
                [json.dumps(document["data"]) if name == "data" else document[name] for name in _COLUMNS[:-1]]
                + [occurred_at]
            )


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
) -> AuditEvent | None:
    """Append one event to the chain, in the caller's transaction (it commits or rolls back with it).
    Inside ``audit_batch()`` the event is appended when the batch ends (and None is returned)."""
    buffer = getattr(_deferred, "events", None)
    if buffer is not None:
        buffer.append((actor, EventDraft(action, subject_type, subject_id, reason, incident, affected_system, data)))
        return None
    with transaction.atomic(savepoint=False):
        _lock_chain_head()
        head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
        occurred_at = timezone.now()
        draft = EventDraft(action, subject_type, subject_id, reason, incident, affected_system, data)
        document = _document(seq, prev_hash, timestamp(occurred_at), actor, draft)
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
