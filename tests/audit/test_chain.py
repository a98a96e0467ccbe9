"""The audit trail is append-only and hash-chained; the chain check names what was tampered with."""

from __future__ import annotations

import copy

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from audit.actors import Actor
from audit.chain import GENESIS_HASH, event_hash, verify_chain
from audit.models import AppendOnlyError, AuditEvent
from audit.services import audit_document, audit_record

pytestmark = pytest.mark.django_db
ACTOR = Actor(name="alice", type="user", source_ip="192.0.2.7", user_agent="tests")


def _record(n: int) -> list[dict[str, object]]:
    for i in range(n):
        audit_record(
            action="test.event", actor=ACTOR, subject_type="key", subject_id=i, reason="r", data={"i": i, "é": [1.5]}
        )
    return [audit_document(e) for e in AuditEvent.objects.order_by("seq")]


def test_events_chain_from_genesis_and_verify():
    documents = _record(5)
    assert documents[0]["prev_hash"] == GENESIS_HASH
    assert [d["seq"] for d in documents] == [1, 2, 3, 4, 5]
    assert all(documents[i]["prev_hash"] == documents[i - 1]["hash"] for i in range(1, 5))
    assert verify_chain(documents) == []


@pytest.mark.parametrize(
    ("tamper", "kind", "seq"),
    [("change", "changed", 3), ("remove", "removed", 3), ("reorder", "reordered", 2), ("insert", "inserted", 3)],
)
def test_tampering_is_detected_and_named(tamper, kind, seq):
    documents = _record(5)
    forged = copy.deepcopy(documents)
    if tamper == "change":
        forged[2]["reason"] = "nothing to see"
    elif tamper == "remove":
        del forged[2]
    elif tamper == "reorder":
        forged[1], forged[2] = forged[2], forged[1]
    else:
        forged.insert(2, dict(forged[2], reason="inserted"))
    problems = verify_chain(forged)
    assert (seq, kind) in [(p.seq, p.kind) for p in problems], problems


def test_a_recomputed_forgery_still_breaks_the_links():
    """Changing an event and recomputing its hash leaves the next event pointing at the old hash."""
    documents = _record(5)
    forged = copy.deepcopy(documents)
    forged[2]["reason"] = "rewritten"
    forged[2]["hash"] = event_hash(forged[2])
    problems = verify_chain(forged)
    assert [(p.seq, p.kind) for p in problems] == [(4, "unlinked")]


def test_the_orm_cannot_update_or_delete():
    _record(1)
    event = AuditEvent.objects.get()
    event.reason = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().update(reason="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
def test_postgresql_refuses_raw_update_delete_and_truncate():
    _record(1)
    for statement in (
        "UPDATE audit_auditevent SET reason = 'x'",
        "DELETE FROM audit_auditevent",
        "SET LOCAL sequester.audit_truncate = 'deny'; TRUNCATE audit_auditevent",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert AuditEvent.objects.count() == 1


def _record_then_fail() -> None:
    with transaction.atomic():
        audit_record(action="test.event", actor=ACTOR, subject_type="key", subject_id=1)
        raise RuntimeError("the caller's work failed")


def test_an_event_rolls_back_with_its_transaction():
    with pytest.raises(RuntimeError):
        _record_then_fail()
    assert AuditEvent.objects.count() == 0
