"""Verify the chain where it lives: every event re-hashed and linked, every checkpoint's signature."""

from __future__ import annotations

import base64

from audit.checkpoints import checkpoint_document
from audit.models import AuditCheckpoint, AuditEvent
from audit.offline_verifier import GENESIS_HASH, Problem, Report, verify_chain, verify_checkpoints
from audit.services import audit_document

CHUNK = 5000


def audit_verify_database() -> Report:
    """The whole chain, in chunks of CHUNK sequence numbers (memory stays flat however long it is)."""
    report = Report()
    head = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    prev_hash = GENESIS_HASH
    for start in range(1, head + 1, CHUNK):
        end = min(start + CHUNK - 1, head)
        chunk = [audit_document(e) for e in AuditEvent.objects.filter(seq__gte=start, seq__lte=end).order_by("seq")]
        report.problems.extend(verify_chain(chunk, first_prev_hash=prev_hash, first_seq=start))
        highest = int(chunk[-1]["seq"]) if chunk else start - 1
        report.problems.extend(
            Problem(seq, "removed", "the sequence has no event here") for seq in range(highest + 1, end + 1)
        )
        if chunk:
            prev_hash = str(chunk[-1]["hash"])
        report.events += len(chunk)
    checkpoints = list(AuditCheckpoint.objects.order_by("seq"))
    keys = {c.key_id: base64.b64decode(c.public_key) for c in checkpoints}
    hashes = dict(AuditEvent.objects.filter(seq__in=[c.seq for c in checkpoints]).values_list("seq", "hash"))
    report.problems.extend(verify_checkpoints([checkpoint_document(c) for c in checkpoints], keys, hashes))
    report.checkpoints, report.keys = len(checkpoints), sorted(keys)
    report.first_seq, report.last_seq = (1, head) if head else (None, None)
    return report
