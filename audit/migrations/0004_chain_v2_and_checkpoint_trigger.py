"""Checkpoints become append-only in the database too, and the chain moves to its second hashing rule.

Rule 1 hashed ``prev_hash || canonical JSON of the event``; rule 2 hashes ``prev_hash || SHA-256 of the
canonical JSON of the event's content`` so that a bundle can carry another incident's event redacted
(its digest only) and still prove the chain. This changed before any release: a database written under
rule 1 is first verified under rule 1 — a broken chain stops the migration, nothing is laundered —
then re-hashed under rule 2 in one transaction, with the update trigger paused for that transaction.
"""

import hashlib
import json

from django.db import migrations

RULE1_FIELDS = (
    "seq",
    "occurred_at",
    "actor",
    "actor_type",
    "action",
    "subject_type",
    "subject_id",
    "reason",
    "incident",
    "affected_system",
    "source_ip",
    "user_agent",
    "data",
    "prev_hash",
)
GENESIS = "0" * 64

CHECKPOINT_TRIGGERS = """
CREATE TRIGGER audit_checkpoint_no_update_delete BEFORE UPDATE OR DELETE ON audit_auditcheckpoint
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON audit_auditcheckpoint
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_no_truncate();
"""
DROP_CHECKPOINT_TRIGGERS = """
DROP TRIGGER IF EXISTS audit_checkpoint_no_truncate ON audit_auditcheckpoint;
DROP TRIGGER IF EXISTS audit_checkpoint_no_update_delete ON audit_auditcheckpoint;
"""


def _canonical(value):  # type: ignore[no-untyped-def]
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _document(event):  # type: ignore[no-untyped-def]
    from datetime import UTC

    document = {name: getattr(event, name) for name in RULE1_FIELDS}
    document["occurred_at"] = event.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return document


def rechain(apps, schema_editor):  # type: ignore[no-untyped-def]
    from audit.offline_verifier import chain_hash, content_digest

    event_model = apps.get_model("audit", "AuditEvent")
    connection = schema_editor.connection
    table = event_model._meta.db_table
    expected_prev, expected_seq, updates = GENESIS, 1, []
    for event in event_model.objects.order_by("seq").iterator(chunk_size=2000):
        document = _document(event)
        rule1 = hashlib.sha256(expected_prev.encode() + _canonical(document)).hexdigest()
        if event.seq != expected_seq or event.prev_hash != expected_prev or event.hash != rule1:
            raise RuntimeError(f"audit chain broken at event {event.seq}: not migrating a tampered chain")
        expected_prev, expected_seq = event.hash, expected_seq + 1
        updates.append((event.seq, document))
    if not updates:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER audit_event_no_update_delete")
        previous = GENESIS
        for seq, document in updates:
            new_hash = chain_hash(previous, content_digest(document))
            cursor.execute(f"UPDATE {table} SET prev_hash = %s, hash = %s WHERE seq = %s", [previous, new_hash, seq])
            previous = new_hash
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER audit_event_no_update_delete")


def add_triggers(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CHECKPOINT_TRIGGERS)


def drop_triggers(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_CHECKPOINT_TRIGGERS)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_checkpoints")]
    operations = [
        migrations.RunPython(add_triggers, drop_triggers),
        migrations.RunPython(rechain, migrations.RunPython.noop),
    ]
