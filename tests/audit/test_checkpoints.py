"""Signed checkpoints of the chain's head, and the database-wide verification."""

from __future__ import annotations

import base64

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from audit.actors import Actor
from audit.checkpoints import audit_checkpoint_create, checkpoint_document
from audit.models import AppendOnlyError, AuditCheckpoint, AuditEvent
from audit.offline_verifier import signature_valid
from audit.services import audit_record
from audit.signing import public_key_raw, signing_key_id
from audit.tasks import checkpoint
from audit.verification import audit_verify_database

pytestmark = pytest.mark.django_db
ACTOR = Actor(name="alice", type="user")


def _record(n: int) -> None:
    for i in range(n):
        audit_record(action="test.event", actor=ACTOR, subject_type="key", subject_id=i)


def test_nothing_to_sign_on_an_empty_trail():
    assert audit_checkpoint_create() is None


def test_a_checkpoint_signs_the_head_and_is_taken_once_per_head():
    _record(3)
    first = audit_checkpoint_create()
    assert first is not None
    head = AuditEvent.objects.get(seq=3)
    assert (first.seq, first.head_hash, first.count, first.key_id) == (3, head.hash, 3, signing_key_id())
    assert base64.b64decode(first.public_key) == public_key_raw()
    assert signature_valid(checkpoint_document(first), public_key_raw())
    assert audit_checkpoint_create() == first  # same head: no second checkpoint
    _record(1)
    assert checkpoint() == 4  # the beat task
    assert AuditCheckpoint.objects.count() == 2


def test_a_changed_checkpoint_no_longer_verifies():
    _record(2)
    document = checkpoint_document(audit_checkpoint_create())  # type: ignore[arg-type]
    assert not signature_valid(document | {"count": 3}, public_key_raw())
    assert not signature_valid(document | {"head_hash": "0" * 64}, public_key_raw())


def test_checkpoints_are_append_only():
    _record(1)
    created = audit_checkpoint_create()
    assert created is not None
    with pytest.raises(AppendOnlyError):
        created.save()
    with pytest.raises(AppendOnlyError):
        AuditCheckpoint.objects.all().delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
def test_postgresql_refuses_to_change_a_checkpoint():
    _record(1)
    audit_checkpoint_create()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditcheckpoint SET count = 7")


def test_the_database_chain_verifies_and_the_command_says_so(capsys):
    _record(7)
    audit_checkpoint_create()
    report = audit_verify_database()
    assert report.ok, report.problems
    assert (report.events, report.checkpoints, report.last_seq) == (7, 1, 7)
    call_command("audit_verify")
    assert "VERIFIED" in capsys.readouterr().out


@pytest.mark.skipif(connection.vendor != "postgresql", reason="tampering needs the trigger paused (PostgreSQL)")
def test_the_database_check_names_an_event_changed_behind_its_back():
    _record(4)
    audit_checkpoint_create()
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_no_update_delete")
        cursor.execute("UPDATE audit_auditevent SET reason = 'covered up' WHERE seq = 2")
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_no_update_delete")
    report = audit_verify_database()
    assert [(p.seq, p.kind) for p in report.problems] == [(2, "changed")]
