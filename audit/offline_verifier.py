#!/usr/bin/env python3
"""Verify Sequester audit evidence offline: no Django, no database, no network.

    python offline_verifier.py BUNDLE.json            # an exported audit bundle
    python offline_verifier.py CASEFILE.pdf           # the bundle attached inside a case file (needs pypdf)
    python offline_verifier.py BUNDLE.json --public-key KEY   # pin the checkpoint key (base64 or a file)

Needs Python 3.11+ and the ``cryptography`` package. Exit code 0 = verified, 1 = a problem was found
(each named: which event was changed, removed, inserted or reordered), 2 = the input could not be read.

This one file is also what the server uses to hash its chain (``audit/chain.py`` imports it), so the
rules below are the rules the events were written with:

- An event's *content* is the canonical JSON (keys sorted, no spaces, UTF-8) of its fields ``seq``,
  ``occurred_at``, ``actor``, ``actor_type``, ``action``, ``subject_type``, ``subject_id``, ``reason``,
  ``incident``, ``affected_system``, ``source_ip``, ``user_agent`` and ``data``;
  ``content_digest = SHA-256(content)`` (hex).
- ``hash = SHA-256(prev_hash || content_digest)`` over the two hex strings as ASCII, with the first
  event's ``prev_hash`` = 64 zeros. A bundle may carry an event *redacted* (``seq``, ``prev_hash``,
  ``content_digest`` and ``hash`` only: another incident's event, say); it still links the chain.
- A checkpoint signs, with Ed25519, the canonical JSON of ``{"format": "sequester.audit-checkpoint/1",
  "seq", "head_hash", "count", "created_at", "key_id"}``: the chain's head at that moment. ``key_id``
  is the first 16 hex digits of SHA-256 of the raw 32-byte public key.
- A bundle is verified when its events run without a gap from a signed checkpoint (or the genesis)
  to a signed checkpoint, every hash recomputes, every link holds and every checkpoint inside the run
  names the hash of the event at its sequence number.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

GENESIS_HASH = "0" * 64
BUNDLE_FORMAT = "sequester.audit-bundle/1"
CHECKPOINT_FORMAT = "sequester.audit-checkpoint/1"
BUNDLE_ATTACHMENT = "audit-bundle.json"

# The fields an event's content digest covers.
CONTENT_FIELDS = (
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
)
REDACTED_FIELDS = ("seq", "prev_hash", "content_digest", "hash")


# --- hashing --------------------------------------------------------------------------------------
def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def timestamp(moment: datetime) -> str:
    """UTC, microseconds, 'Z': one spelling per instant."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def content_digest(document: Mapping[str, Any]) -> str:
    """The digest of an event's content (a redacted event carries it instead of the content)."""
    if document.get("redacted"):
        return str(document.get("content_digest", ""))
    return hashlib.sha256(canonical_json({name: document[name] for name in CONTENT_FIELDS})).hexdigest()


def chain_hash(prev_hash: str, digest: str) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + digest.encode("ascii")).hexdigest()


def event_hash(document: Mapping[str, Any]) -> str:
    return chain_hash(str(document["prev_hash"]), content_digest(document))


def redacted(document: Mapping[str, Any]) -> dict[str, Any]:
    """The event with its content left out: what it commits to stays checkable."""
    return {
        "seq": document["seq"],
        "prev_hash": document["prev_hash"],
        "content_digest": content_digest(document),
        "hash": document["hash"],
        "redacted": True,
    }


# --- checkpoints ----------------------------------------------------------------------------------
def key_id(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()[:16]


def checkpoint_statement(checkpoint: Mapping[str, Any]) -> bytes:
    return canonical_json(
        {
            "format": CHECKPOINT_FORMAT,
            "seq": checkpoint["seq"],
            "head_hash": checkpoint["head_hash"],
            "count": checkpoint["count"],
            "created_at": checkpoint["created_at"],
            "key_id": checkpoint["key_id"],
        }
    )


def signature_valid(checkpoint: Mapping[str, Any], public_key: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        signature = base64.b64decode(str(checkpoint.get("signature", "")), validate=True)
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, checkpoint_statement(checkpoint))
    except (InvalidSignature, ValueError, binascii.Error, KeyError, TypeError):
        return False
    return True


# --- problems -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Problem:
    seq: int | None
    kind: str  # changed, removed, inserted, reordered, unlinked, checkpoint, bundle
    detail: str

    def __str__(self) -> str:
        where = f"event {self.seq}" if self.seq is not None else "bundle"
        if self.kind == "checkpoint":
            where = f"checkpoint at {self.seq}"
        return f"{where}: {self.kind}: {self.detail}"


def _sort_key(problem: Problem) -> tuple[int, str]:
    return (problem.seq if problem.seq is not None else -1, problem.kind)


def verify_chain(
    documents: Sequence[Mapping[str, Any]], *, first_prev_hash: str = GENESIS_HASH, first_seq: int = 1
) -> list[Problem]:
    """Check a run of events (in the order given) that should hold every event from ``first_seq`` on:
    names each event changed (its hash does not recompute), removed (a gap), inserted (a second event
    with a sequence number, or one that breaks the links), or reordered (out of sequence order)."""
    problems: list[Problem] = []
    by_seq: dict[int, Mapping[str, Any]] = {}
    highest = first_seq - 1
    for position, document in enumerate(documents):
        seq = document.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            problems.append(Problem(None, "inserted", f"the event at position {position + 1} has no sequence number"))
            continue
        if seq in by_seq:
            problems.append(Problem(seq, "inserted", "a second event carries this sequence number"))
            continue
        if seq < first_seq:
            problems.append(Problem(seq, "inserted", f"the run starts at event {first_seq}"))
            continue
        if seq < highest:
            problems.append(Problem(seq, "reordered", f"it comes after event {highest}"))
        by_seq[seq] = document
        highest = max(highest, seq)
        if event_hash(document) != document.get("hash"):
            problems.append(Problem(seq, "changed", "its content does not match its hash"))
    missing = [seq for seq in range(first_seq, highest + 1) if seq not in by_seq]
    problems.extend(Problem(seq, "removed", "the sequence has no event here") for seq in missing)
    for seq in sorted(by_seq):
        expected = first_prev_hash if seq == first_seq else by_seq.get(seq - 1, {}).get("hash")
        if expected is not None and by_seq[seq].get("prev_hash") != expected:
            before = "the start of the run" if seq == first_seq else f"event {seq - 1}"
            problems.append(Problem(seq, "unlinked", f"its prev_hash does not name {before}"))
    return sorted(problems, key=_sort_key)


def verify_checkpoints(
    checkpoints: Iterable[Mapping[str, Any]], public_keys: Mapping[str, bytes], hashes: Mapping[int, str]
) -> list[Problem]:
    """Each checkpoint signed by a known key; where its event is in ``hashes``, it names that event."""
    problems: list[Problem] = []
    for checkpoint in checkpoints:
        seq = checkpoint.get("seq")
        key = public_keys.get(str(checkpoint.get("key_id")))
        if not isinstance(seq, int):
            problems.append(Problem(None, "bundle", "a checkpoint without a sequence number"))
            continue
        if key is None:
            problems.append(Problem(seq, "checkpoint", f"signed by unknown key {checkpoint.get('key_id')!r}"))
        elif not signature_valid(checkpoint, key):
            problems.append(Problem(seq, "checkpoint", "its signature does not verify"))
        if checkpoint.get("count") != seq:
            problems.append(Problem(seq, "checkpoint", f"counts {checkpoint.get('count')} events, not {seq}"))
        if seq in hashes and hashes[seq] != checkpoint.get("head_hash"):
            problems.append(
                Problem(seq, "checkpoint", "the signed head hash is not this event's hash: events before it changed")
            )
    return problems


# --- bundles --------------------------------------------------------------------------------------
@dataclass(slots=True)
class Report:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    events: int = 0
    redacted: int = 0
    checkpoints: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    keys: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "redacted": self.redacted,
            "checkpoints": self.checkpoints,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "keys": self.keys,
            "problems": [{"seq": p.seq, "kind": p.kind, "detail": p.detail, "text": str(p)} for p in self.problems],
            "warnings": self.warnings,
        }


def _public_keys(bundle: Mapping[str, Any], pinned: Sequence[bytes]) -> tuple[dict[str, bytes], list[str]]:
    warnings: list[str] = []
    if pinned:
        return {key_id(key): key for key in pinned}, warnings
    keys: dict[str, bytes] = {}
    for given_id, encoded in dict(bundle.get("public_keys") or {}).items():
        try:
            raw = base64.b64decode(str(encoded), validate=True)
        except (binascii.Error, ValueError):
            continue
        if key_id(raw) == given_id:
            keys[given_id] = raw
    if keys:
        warnings.append(
            "the checkpoint key(s) came from the bundle itself ("
            + ", ".join(sorted(keys))
            + "): compare with the key the deployment publishes, or pin it with --public-key"
        )
    return keys, warnings


def verify_bundle(bundle: Mapping[str, Any], *, pinned_keys: Sequence[bytes] = ()) -> Report:
    report = Report()
    if bundle.get("format") != BUNDLE_FORMAT:
        report.problems.append(Problem(None, "bundle", f"not a {BUNDLE_FORMAT} document"))
        return report
    events = list(bundle.get("events") or [])
    checkpoints = list(bundle.get("checkpoints") or [])
    start = dict(bundle.get("start") or {})
    start_seq, start_hash = start.get("seq"), start.get("hash")
    if not isinstance(start_seq, int) or not isinstance(start_hash, str):
        report.problems.append(Problem(None, "bundle", "the bundle does not say where its run starts"))
        return report
    keys, report.warnings = _public_keys(bundle, pinned_keys)
    report.keys = sorted(keys)
    report.events = len(events)
    report.redacted = sum(1 for event in events if event.get("redacted"))
    report.checkpoints = len(checkpoints)
    report.problems.extend(verify_chain(events, first_prev_hash=start_hash, first_seq=start_seq + 1))
    hashes = {e["seq"]: str(e.get("hash")) for e in events if isinstance(e.get("seq"), int)}
    hashes[start_seq] = start_hash
    report.problems.extend(verify_checkpoints(checkpoints, keys, hashes))
    signed = {c.get("seq") for c in checkpoints if isinstance(c.get("seq"), int)}
    if start_seq == 0 and start_hash != GENESIS_HASH:
        report.problems.append(Problem(None, "bundle", "a run from the first event must start at the genesis hash"))
    if start_seq > 0 and start_seq not in signed:
        report.problems.append(Problem(start_seq, "checkpoint", "the run does not start at a signed checkpoint"))
    last = max(hashes) if hashes else start_seq
    report.first_seq, report.last_seq = (start_seq + 1 if events else None), (last if events else None)
    if last not in signed:
        report.problems.append(
            Problem(last, "checkpoint", "the run does not end at a signed checkpoint: its last events are unanchored")
        )
    report.problems.sort(key=_sort_key)
    return report


# --- reading --------------------------------------------------------------------------------------
class InputError(Exception):
    pass


def read_bundle(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    if data.startswith(b"%PDF"):
        data = _pdf_attachment(path, BUNDLE_ATTACHMENT)
    try:
        bundle = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not JSON ({exc})") from None
    if not isinstance(bundle, dict):
        raise InputError(f"{path}: not a bundle (a JSON object is expected)")
    return bundle


def _pdf_attachment(path: Path, name: str) -> bytes:
    try:
        from pypdf import PdfReader
    except ImportError:
        raise InputError(
            f"reading a PDF needs pypdf (pip install pypdf); or extract {name} first, e.g. "
            f"`pdfdetach -savefile {name} {path}` (poppler-utils), and verify that file"
        ) from None
    attachments = PdfReader(str(path)).attachments
    if name not in attachments:
        raise InputError(f"{path}: no attachment named {name}")
    return bytes(attachments[name][0])


def read_public_key(value: str) -> bytes:
    text = Path(value).read_text(encoding="utf-8").strip() if Path(value).is_file() else value.strip()
    if text.startswith("-----BEGIN"):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        loaded = serialization.load_pem_public_key(text.encode())
        if not isinstance(loaded, Ed25519PublicKey):
            raise InputError("the public key is not an Ed25519 key")
        return loaded.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("the public key must be base64 of 32 bytes, or a PEM file") from None
    if len(raw) != 32:
        raise InputError("the public key must be 32 bytes (Ed25519)")
    return raw


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a Sequester audit bundle or case file, offline.")
    parser.add_argument("bundle", type=Path, help="an exported bundle (JSON) or a case file (PDF)")
    parser.add_argument("--public-key", action="append", default=[], help="pinned checkpoint key: base64 or a file")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        bundle = read_bundle(args.bundle)
        pinned = [read_public_key(value) for value in args.public_key]
    except (InputError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = verify_bundle(bundle, pinned_keys=pinned)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        span = f"events {report.first_seq} to {report.last_seq}" if report.events else "no events"
        print(
            f"{args.bundle}: {span} ({report.events} events, {report.redacted} redacted), "
            f"{report.checkpoints} checkpoints, keys {', '.join(report.keys) or 'none'}"
        )
        for warning in report.warnings:
            print(f"warning: {warning}")
        for problem in report.problems:
            print(f"PROBLEM {problem}")
        print("VERIFIED" if report.ok else f"NOT VERIFIED: {len(report.problems)} problem(s)")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
