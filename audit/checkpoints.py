"""Signed checkpoints of the chain's head: taken periodically (Celery beat) and before every export."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import AuditCheckpoint, AuditEvent
from audit.offline_verifier import checkpoint_statement, timestamp
from audit.signing import public_key_b64, sign, signing_key_id


def checkpoint_document(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    """The checkpoint as signed, plus its signature (what a bundle carries)."""
    return {
        "seq": checkpoint.seq,
        "head_hash": checkpoint.head_hash,
        "count": checkpoint.count,
        "created_at": timestamp(checkpoint.created_at),
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
    }


def audit_checkpoint_create() -> AuditCheckpoint | None:
    """Sign the committed head of the chain, unless a checkpoint already holds it. None: no event yet.
    Committed events never change, so the head read here stays what the signature says."""
    head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    if head is None:
        return None
    seq, head_hash = head
    existing = AuditCheckpoint.objects.filter(seq=seq).first()
    if existing is not None:
        return existing
    created_at = timezone.now()  # stored to the microsecond: the signed spelling round-trips
    document: dict[str, Any] = {
        "seq": seq,
        "head_hash": head_hash,
        "count": AuditEvent.objects.filter(seq__lte=seq).count(),
        "created_at": timestamp(created_at),
        "key_id": signing_key_id(),
    }
    try:
        with transaction.atomic():
            return AuditCheckpoint.objects.create(
                seq=seq,
                head_hash=head_hash,
                count=int(document["count"]),
                created_at=created_at,
                key_id=str(document["key_id"]),
                public_key=public_key_b64(),
                signature=sign(checkpoint_statement(document)),
            )
    except IntegrityError:  # another process signed the same head first
        return AuditCheckpoint.objects.get(seq=seq)


def checkpoint_before(seq: int) -> AuditCheckpoint | None:
    """The latest checkpoint strictly before event ``seq`` (a run starting at ``seq`` hangs from it)."""
    return AuditCheckpoint.objects.filter(seq__lt=seq).order_by("-seq").first()


def checkpoint_at_or_after(seq: int) -> AuditCheckpoint | None:
    return AuditCheckpoint.objects.filter(seq__gte=seq).order_by("seq").first()
