"""The hash chain, with no Django import: the standalone verifier uses this module as it is.

Each event's hash is SHA-256 over the previous event's hash (hex, as ASCII) and the event's canonical
JSON (sorted keys, no spaces, UTF-8), which holds every field but the hash itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64

# The fields an event's hash covers, in the canonical document.
CHAINED_FIELDS = (
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


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def timestamp(moment: datetime) -> str:
    """UTC, microseconds, 'Z': one spelling per instant."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(document: Mapping[str, Any]) -> str:
    body = {field: document[field] for field in CHAINED_FIELDS}
    return hashlib.sha256(document["prev_hash"].encode("ascii") + canonical_json(body)).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainProblem:
    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"event {self.seq}" if self.seq is not None else "chain"
        return f"{where}: {self.problem}"


def verify_chain(
    documents: Iterable[Mapping[str, Any]], *, first_prev_hash: str = GENESIS_HASH, first_seq: int = 1
) -> list[ChainProblem]:
    """Check a run of events in order: sequence without gaps, each prev_hash linked, each hash right."""
    problems: list[ChainProblem] = []
    expected_prev, expected_seq = first_prev_hash, first_seq
    for document in documents:
        seq = document.get("seq")
        if seq != expected_seq:
            problems.append(
                ChainProblem(seq, f"expected sequence number {expected_seq}: missing, inserted or reordered")
            )
        if document.get("prev_hash") != expected_prev:
            problems.append(ChainProblem(seq, "prev_hash does not link to the event before it"))
        if event_hash(document) != document.get("hash"):
            problems.append(ChainProblem(seq, "content changed: its hash does not match"))
        expected_prev = str(document.get("hash"))
        expected_seq = (seq if isinstance(seq, int) else expected_seq) + 1
    return problems
