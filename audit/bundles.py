"""Export a run of the chain as a bundle the offline verifier checks: all of it, or an incident's share.

An incident's bundle runs from the checkpoint before its first event to the checkpoint after its last;
the events in that run that are not the incident's (nor about its keys) are carried redacted — their
content digest, not their content — so the run still proves that nothing was left out or changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.db.models import Q
from django.utils import timezone

from audit.actors import Actor
from audit.checkpoints import audit_checkpoint_create, checkpoint_at_or_after, checkpoint_before, checkpoint_document
from audit.models import AuditCheckpoint, AuditEvent
from audit.offline_verifier import BUNDLE_FORMAT, GENESIS_HASH, canonical_json, redacted, timestamp
from audit.services import audit_document, audit_record

CHUNK = 2000


class NothingToExport(Exception):
    code = "nothing_to_export"


@dataclass(frozen=True, slots=True)
class BundleScope:
    """Whose events travel in full. Empty: the whole chain."""

    incident: str = ""
    key_ids: frozenset[str] = field(default_factory=frozenset)
    from_seq: int = 0  # the whole chain from the checkpoint before this event on (a period's report)

    @property
    def whole_chain(self) -> bool:
        return not self.incident

    def filter(self) -> Q:
        wanted = Q(incident=self.incident) | Q(subject_type="incident", subject_id=self.incident)
        if self.key_ids:
            wanted |= Q(subject_type="key", subject_id__in=sorted(self.key_ids))
        return wanted

    def holds(self, event: AuditEvent) -> bool:
        if self.whole_chain:
            return True
        return (
            event.incident == self.incident
            or (event.subject_type == "incident" and event.subject_id == self.incident)
            or (event.subject_type == "key" and event.subject_id in self.key_ids)
        )


@dataclass(frozen=True, slots=True)
class BundleRange:
    start_seq: int
    start_hash: str
    end_seq: int


@dataclass(frozen=True, slots=True)
class BundleSummary:
    events: int
    redacted: int
    start_seq: int
    end_seq: int
    checkpoints: int


def _range(scope: BundleScope) -> BundleRange:
    head = audit_checkpoint_create()  # the run ends at a signed checkpoint: the head, signed now
    if head is None:
        raise NothingToExport("the audit trail is empty")
    if scope.whole_chain:
        before = checkpoint_before(scope.from_seq) if scope.from_seq > 1 else None
        if before is not None:
            return BundleRange(before.seq, before.head_hash, head.seq)
        return BundleRange(0, GENESIS_HASH, head.seq)
    seqs = AuditEvent.objects.filter(scope.filter()).order_by("seq").values_list("seq", flat=True)
    first, last = seqs.first(), seqs.last()
    if first is None or last is None:
        raise NothingToExport(f"no audit event for incident {scope.incident}")
    before = checkpoint_before(first)
    after = checkpoint_at_or_after(last) or head
    if before is None:
        return BundleRange(0, GENESIS_HASH, after.seq)
    return BundleRange(before.seq, before.head_hash, after.seq)


def _events(scope: BundleScope, run: BundleRange) -> Iterator[tuple[dict[str, Any], bool]]:
    events = AuditEvent.objects.filter(seq__gt=run.start_seq, seq__lte=run.end_seq).order_by("seq")
    for event in events.iterator(chunk_size=CHUNK):
        document = audit_document(event)
        if scope.holds(event):
            yield document, False
        else:
            yield redacted(document), True


def audit_bundle_write(*, out: IO[str], scope: BundleScope, actor: Actor, purpose: str = "export") -> BundleSummary:
    """Record the export, sign the head, then write the bundle to ``out`` as JSON, streaming the events."""
    if not scope.whole_chain and not AuditEvent.objects.filter(scope.filter()).exists():
        raise NothingToExport(f"no audit event for incident {scope.incident}")
    audit_record(
        action="audit.exported",
        actor=actor,
        subject_type="incident" if scope.incident else "audit",
        subject_id=scope.incident or "chain",
        incident=scope.incident,
        reason=purpose,
        data={"scope": "incident" if scope.incident else "chain"},
    )
    run = _range(scope)
    checkpoints = list(AuditCheckpoint.objects.filter(seq__gte=run.start_seq, seq__lte=run.end_seq).order_by("seq"))
    header = {
        "format": BUNDLE_FORMAT,
        "exported_at": timestamp(timezone.now()),
        "exported_by": actor.name,
        "scope": {"incident": scope.incident}
        if scope.incident
        else ({"chain": "from", "from_seq": str(scope.from_seq)} if scope.from_seq else {"chain": "all"}),
        "hashing": "hash = SHA-256(prev_hash || SHA-256(canonical JSON of the content)), see offline_verifier.py",
        "start": {"seq": run.start_seq, "hash": run.start_hash},
        "checkpoints": [checkpoint_document(c) for c in checkpoints],
        "public_keys": {c.key_id: c.public_key for c in checkpoints},
    }
    out.write(json.dumps(header, sort_keys=True)[:-1] + ', "events": [')
    count = hidden = 0
    for document, is_redacted in _events(scope, run):
        out.write(("," if count else "") + "\n" + canonical_json(document).decode())
        count += 1
        hidden += is_redacted
    out.write("\n]}\n")
    return BundleSummary(count, hidden, run.start_seq, run.end_seq, len(checkpoints))
