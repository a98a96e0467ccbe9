#!/usr/bin/env python3
"""Verify Sequester evidence offline: no Django, no database, no network, no access to the server.

    python offline_verifier.py CASE.pdf --certificate sequester-casefile-certificate.pem \
                                        --public-key sequester-audit-key.json
    python offline_verifier.py BUNDLE.json --public-key sequester-audit-key.json

Needs Python 3.11+ with ``pyhanko`` and ``cryptography`` (the deployment's ``/audit/`` page gives the
``pip install`` line with the versions it was tested with; a bundle alone needs only ``cryptography``).

A case file (PDF) is checked in this order, and each check is reported:

1. its signature (PAdES) is intact, covers every byte of the file (nothing appended after signing),
   and the signer's certificate chains to a certificate you give with ``--certificate`` — the one the
   deployment publishes at ``/.well-known/sequester-casefile-certificate.pem`` (the trust anchor);
2. its RFC 3161 timestamp, when it carries one: intact, and trusted if you give the time-stamping
   authority's certificate with ``--tsa-certificate``; without a trusted timestamp the signing time
   is the signer's claim, and the report says so;
3. the audit bundle attached inside (``audit-bundle.json``), as below.

A bundle is checked against the checkpoint key you pin with ``--public-key`` (the deployment's
``/.well-known/sequester-audit-key.json`` saved as a file, a PEM file, or base64 of the raw key). A key
read from the bundle itself proves nothing (whoever changed the bundle can re-sign it): without a pinned
key the verdict is NOT VERIFIED, unless you say ``--trust-bundle-key``, and then the report says so.

Exit code 0 = VERIFIED (every check above passed), 1 = NOT VERIFIED (each failure named: which check,
which event was changed, removed, inserted or reordered), 2 = the input or a trust anchor could not be
read, or a needed package is missing. It never says VERIFIED for something it did not check.

This one file is also what the server uses to hash its chain (``audit/chain.py`` imports it) and to
check case files (``manage.py casefile_verify``), so the rules below are the rules the evidence was
written with:

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
import io
import json
import logging
import re
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
# What a case file's signature and the pinned keys are checked for (problems without an event).
TRUST_KINDS = ("signature", "certificate", "timestamp", "checkpoint key", "attachment")


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int | None
    kind: str  # changed, removed, inserted, reordered, unlinked, checkpoint, bundle, or one of TRUST_KINDS
    detail: str

    def __str__(self) -> str:
        if self.seq is None and self.kind in TRUST_KINDS:
            return f"{self.kind}: {self.detail}"
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


# --- reports --------------------------------------------------------------------------------------
OK, FAILED, NOT_CHECKED, NOTE = "ok", "FAILED", "not checked", "note"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report: what was checked and what came of it."""

    name: str
    status: str  # OK, FAILED, NOT_CHECKED or NOTE
    detail: str


@dataclass(slots=True)
class Report:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    events: int = 0
    redacted: int = 0
    checkpoints: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    keys: list[str] = field(default_factory=list)
    key_source: str = "pinned"  # pinned, bundle (on request) or none
    signature: SignatureResult | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "verdict": "VERIFIED" if self.ok else "NOT VERIFIED",
            "checks": [{"name": c.name, "status": c.status, "detail": c.detail} for c in self.checks],
            "signature": self.signature.as_dict() if self.signature is not None else None,
            "events": self.events,
            "redacted": self.redacted,
            "checkpoints": self.checkpoints,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "keys": self.keys,
            "key_source": self.key_source,
            "problems": [{"seq": p.seq, "kind": p.kind, "detail": p.detail, "text": str(p)} for p in self.problems],
            "warnings": self.warnings,
        }


# --- bundles --------------------------------------------------------------------------------------
def _bundle_keys(bundle: Mapping[str, Any]) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for given_id, encoded in dict(bundle.get("public_keys") or {}).items():
        try:
            raw = base64.b64decode(str(encoded), validate=True)
        except (binascii.Error, ValueError):
            continue
        if key_id(raw) == given_id:
            keys[given_id] = raw
    return keys


def verify_bundle(
    bundle: Mapping[str, Any], *, pinned_keys: Sequence[bytes] = (), trust_bundle_key: bool = False
) -> Report:
    """The chain of a bundle and its checkpoints. The checkpoints must be signed by a pinned key; with
    none pinned, the keys the bundle carries are used to find other problems, but the verdict stays NOT
    VERIFIED unless ``trust_bundle_key`` (and then a warning says what that means)."""
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
    if pinned_keys:
        keys = {key_id(key): key for key in pinned_keys}
    else:
        keys = _bundle_keys(bundle)
        carried = ", ".join(sorted(keys)) or "none"
        if trust_bundle_key:
            report.key_source = "bundle"
            report.warnings.append(
                f"the checkpoint key(s) were taken from the bundle itself ({carried}), as asked with "
                "--trust-bundle-key: this shows the bundle is consistent with itself, not that the deployment "
                "signed it; pin the published key with --public-key for that"
            )
        else:
            report.key_source = "none"
            report.problems.append(
                Problem(
                    None,
                    "checkpoint key",
                    f"no checkpoint key pinned: the bundle carries key(s) {carried}, but a key read from the "
                    "bundle proves nothing; pass --public-key with the deployment's published key "
                    "(/.well-known/sequester-audit-key.json), or --trust-bundle-key to accept the bundle's own",
                )
            )
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
    span = f"events {report.first_seq} to {report.last_seq}" if report.events else "no events"
    chain_ok = not any(p.kind not in TRUST_KINDS for p in report.problems)
    report.checks.append(
        Check(
            "audit bundle",
            OK if chain_ok else FAILED,
            f"{span} ({report.events} events, {report.redacted} redacted), {report.checkpoints} signed checkpoint(s)",
        )
    )
    source = {"pinned": "pinned", "bundle": "taken from the bundle (--trust-bundle-key)", "none": "NOT pinned"}
    report.checks.append(
        Check(
            "checkpoint key",
            {"pinned": OK, "bundle": NOTE, "none": FAILED}[report.key_source],
            f"{', '.join(report.keys) or 'none'}: {source[report.key_source]}",
        )
    )
    return report


# --- case files (PDF): signature, certificate, timestamp ------------------------------------------
class InputError(Exception):
    """The input or a trust anchor cannot be read (exit 2)."""


class MissingDependency(InputError):
    pass


REQUIREMENTS = ("pyhanko", "cryptography")  # what checking a case file needs (pip names)
_CERTIFICATE = re.compile(rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.S)


def _pyhanko() -> None:
    try:
        import pyhanko  # noqa: F401
    except ImportError:
        raise MissingDependency(
            "checking a case file's signature needs pyHanko: pip install " + " ".join(REQUIREMENTS)
        ) from None


def fingerprint(der: bytes) -> str:
    """SHA-256 of a certificate (DER), as the deployment publishes it: AB:CD:…"""
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def read_certificates(data: bytes) -> list[Any]:
    """Every certificate of a PEM file (text around the blocks is allowed) or one DER certificate, as
    asn1crypto objects (pyHanko's)."""
    _pyhanko()
    from asn1crypto import x509  # type: ignore[import-untyped]  # pyHanko's dependency

    blocks = _CERTIFICATE.findall(data)
    try:
        ders = [base64.b64decode(b"".join(block.split()), validate=True) for block in blocks] if blocks else [data]
        certificates = [x509.Certificate.load(der) for der in ders]
        for certificate in certificates:
            certificate.subject.human_friendly  # noqa: B018 - parses it: a broken certificate fails here
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InputError(f"not a certificate (PEM or DER): {exc}") from None
    return certificates


@dataclass(frozen=True, slots=True)
class SignatureResult:
    """What the case file's signature shows. ``ok``: intact, trusted and covering the whole file."""

    signed: bool
    intact: bool = False
    trusted: bool = False
    whole_file: bool = False
    signer: str = ""
    fingerprint: str = ""
    signed_at: str = ""  # what the signer says
    timestamp: str = ""  # what a time-stamping authority says (intact token), else ""
    timestamp_authority: str = ""
    timestamp_trusted: bool = False
    problems: tuple[tuple[str, str], ...] = ()  # (kind, detail)

    @property
    def ok(self) -> bool:
        return self.signed and self.intact and self.trusted and self.whole_file and not self.problems

    @property
    def problem(self) -> str:
        return self.problems[0][1] if self.problems else ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "signed": self.signed,
            "intact": self.intact,
            "trusted": self.trusted,
            "whole_file": self.whole_file,
            "signer": self.signer,
            "certificate_sha256": self.fingerprint,
            "signed_at": self.signed_at,
            "timestamp": self.timestamp,
            "timestamp_authority": self.timestamp_authority,
            "timestamp_trusted": self.timestamp_trusted,
            "problems": [detail for _, detail in self.problems],
        }


def pdf_signature_check(pdf: bytes, *, trust: Sequence[Any], tsa_trust: Sequence[Any] = ()) -> SignatureResult:
    """The last signature of the PDF: intact, covering every byte of the file, its certificate chaining
    to one of ``trust``; its RFC 3161 timestamp, if any, checked against ``tsa_trust``."""
    _pyhanko()
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        signatures = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        return SignatureResult(False, problems=(("signature", f"not a readable PDF: {exc}"),))
    if not signatures:
        return SignatureResult(False, problems=(("signature", "the file carries no signature"),))
    signature = signatures[-1]
    context = ValidationContext(trust_roots=list(trust), allow_fetching=False)
    ts_context = ValidationContext(trust_roots=list(tsa_trust or trust), allow_fetching=False)
    try:
        status = validate_pdf_signature(signature, context, ts_validation_context=ts_context)
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        return SignatureResult(True, problems=(("signature", f"the signature cannot be validated: {exc}"),))
    certificate = status.signing_cert
    problems: list[tuple[str, str]] = []
    whole = status.coverage is not None and status.coverage.name == "ENTIRE_FILE"
    if not (status.intact and status.valid):
        problems.append(("signature", "the signed bytes were changed: the signature does not match the file"))
    if not whole:
        problems.append(
            ("signature", "bytes were added after the signature: the signature does not cover the whole file")
        )
    if not status.trusted:
        problems.append(
            ("certificate", "the signer's certificate does not chain to the given trust anchor(s) (--certificate)")
        )
    timestamp = status.timestamp_validity
    stamped_at = authority = ""
    stamp_trusted = False
    if timestamp is not None:
        authority = str(timestamp.signing_cert.subject.human_friendly) if timestamp.signing_cert else ""
        if timestamp.intact and timestamp.valid:
            stamped_at = timestamp.timestamp.astimezone(UTC).isoformat()
            stamp_trusted = bool(timestamp.trusted)
        else:
            problems.append(("timestamp", "the RFC 3161 timestamp token does not match the signature"))
    return SignatureResult(
        signed=True,
        intact=bool(status.intact and status.valid),
        trusted=bool(status.trusted),
        whole_file=whole,
        signer=str(certificate.subject.human_friendly) if certificate is not None else "",
        fingerprint=fingerprint(certificate.dump()) if certificate is not None else "",
        signed_at=status.signer_reported_dt.astimezone(UTC).isoformat() if status.signer_reported_dt else "",
        timestamp=stamped_at,
        timestamp_authority=authority,
        timestamp_trusted=stamp_trusted,
        problems=tuple(problems),
    )


def _entry(dictionary: Any, name: str) -> Any:
    """A PDF dictionary's entry, indirect objects resolved (pyHanko's ``get`` would not resolve them)."""
    return dictionary[name] if name in dictionary else None  # noqa: SIM401 - get() would not resolve


def _pdf_attachments(pdf: bytes) -> dict[str, bytes]:
    """The PDF's embedded files by name (the EmbeddedFiles name tree), read with pyHanko."""
    _pyhanko()
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader

    found: dict[str, bytes] = {}

    def walk(node: Any, depth: int = 0) -> None:
        if depth > 32:
            raise InputError("the PDF's attachment tree is too deep")
        if "/Names" in node:
            names = node["/Names"]
            for index in range(0, len(names) - 1, 2):
                files = _entry(names[index + 1], "/EF") or {}
                stream = _entry(files, "/UF") or _entry(files, "/F")
                if stream is not None:
                    found.setdefault(str(names[index]), bytes(stream.data))
        for kid in _entry(node, "/Kids") or []:
            walk(kid.get_object(), depth + 1)

    try:
        root = PdfFileReader(io.BytesIO(pdf), strict=False).root
        if "/Names" in root and "/EmbeddedFiles" in root["/Names"]:
            walk(root["/Names"]["/EmbeddedFiles"])
    except (PdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"cannot read the PDF's attachments: {exc}") from None
    return found


def _load_bundle(data: bytes, where: str) -> dict[str, Any]:
    try:
        bundle = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{where}: not JSON ({exc})") from None
    if not isinstance(bundle, dict):
        raise InputError(f"{where}: not a bundle (a JSON object is expected)")
    return bundle


def _signature_checks(result: SignatureResult, size: int) -> list[Check]:
    coverage = f"covers the whole file ({size:,} bytes)" if result.whole_file else "does NOT cover the whole file"
    checks = [
        Check(
            "signature",
            OK if result.intact and result.whole_file else FAILED,
            ("intact" if result.intact else "NOT intact") + f", {coverage}",
        ),
        Check(
            "certificate",
            OK if result.trusted else FAILED,
            f"{result.signer or 'unknown signer'}, SHA-256 {result.fingerprint or '?'}: "
            + ("chains to a given trust anchor" if result.trusted else "does NOT chain to a given trust anchor"),
        ),
    ]
    if result.timestamp and result.timestamp_trusted:
        checks.append(Check("timestamp", OK, f"{result.timestamp} (RFC 3161, by {result.timestamp_authority})"))
    elif result.timestamp:
        checks.append(
            Check(
                "timestamp",
                NOTE,
                f"{result.timestamp} by {result.timestamp_authority}: the authority's certificate is not among your "
                f"trust anchors (--tsa-certificate), so this time is its claim, not checked",
            )
        )
    elif not any(kind == "timestamp" for kind, _ in result.problems):
        checks.append(
            Check(
                "signing time",
                NOTE,
                f"{result.signed_at or 'not stated'}: the signer's claim (the file carries no RFC 3161 timestamp)",
            )
        )
    return checks


def verify_evidence(
    data: bytes,
    *,
    certificates: Sequence[Any] = (),
    tsa_certificates: Sequence[Any] = (),
    pinned_keys: Sequence[bytes] = (),
    trust_bundle_key: bool = False,
    where: str = "input",
) -> Report:
    """A case file (PDF: signature, certificate, timestamp, then its bundle) or a bundle (JSON)."""
    if not data.startswith(b"%PDF"):
        return verify_bundle(_load_bundle(data, where), pinned_keys=pinned_keys, trust_bundle_key=trust_bundle_key)
    problems: list[Problem] = []
    checks: list[Check] = []
    signature: SignatureResult | None = None
    if certificates:
        signature = pdf_signature_check(data, trust=certificates, tsa_trust=tsa_certificates)
        problems.extend(Problem(None, kind, detail) for kind, detail in signature.problems)
        checks.extend(_signature_checks(signature, len(data)) if signature.signed else [])
        if not signature.signed:
            checks.append(Check("signature", FAILED, signature.problem))
    else:
        problems.append(
            Problem(
                None,
                "signature",
                "not checked: give the case-file certificate with --certificate (the deployment publishes it at "
                "/.well-known/sequester-casefile-certificate.pem)",
            )
        )
        checks.append(Check("signature", NOT_CHECKED, "no --certificate given"))
    attachments = _pdf_attachments(data)
    if BUNDLE_ATTACHMENT not in attachments:
        report = Report(problems=[Problem(None, "attachment", f"the PDF has no attachment named {BUNDLE_ATTACHMENT}")])
        checks.append(Check("audit bundle", FAILED, f"no {BUNDLE_ATTACHMENT} inside"))
    else:
        report = verify_bundle(
            _load_bundle(attachments[BUNDLE_ATTACHMENT], f"{where}: {BUNDLE_ATTACHMENT}"),
            pinned_keys=pinned_keys,
            trust_bundle_key=trust_bundle_key,
        )
    report.problems[:0] = problems
    report.checks[:0] = checks
    report.signature = signature
    return report


# --- reading the trust anchors -------------------------------------------------------------------
def _raw_key(encoded: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"{what}: not base64") from None
    if len(raw) != 32:
        raise InputError(f"{what}: an Ed25519 public key is 32 bytes, not {len(raw)}")
    return raw


def _pem_key(text: str) -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        loaded = serialization.load_pem_public_key(text.encode())
    except ValueError as exc:
        raise InputError(f"not a PEM public key: {exc}") from None
    if not isinstance(loaded, Ed25519PublicKey):
        raise InputError("the public key is not an Ed25519 key")
    return loaded.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def read_public_keys(value: str) -> list[bytes]:
    """A pinned checkpoint key: the deployment's ``sequester-audit-key.json`` (a file, or its text: the
    current key and every earlier one it lists), a PEM file, or base64 of the raw 32 bytes."""
    path = Path(value)
    text = path.read_text(encoding="utf-8").strip() if path.is_file() else value.strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"the public key file is not JSON: {exc}") from None
        entries = [document, *(document.get("keys") or [])] if isinstance(document, dict) else []
        keys: list[bytes] = []
        for entry in entries:
            if not isinstance(entry, dict) or "public_key" not in entry:
                continue
            raw = _raw_key(str(entry["public_key"]), "public_key")
            if entry.get("key_id") and entry["key_id"] != key_id(raw):
                raise InputError(f"key {entry['key_id']}: its key_id does not match its public key")
            if raw not in keys:
                keys.append(raw)
        if not keys:
            raise InputError("the JSON holds no public_key (expected /.well-known/sequester-audit-key.json)")
        return keys
    if text.startswith("-----BEGIN"):
        return [_pem_key(text)]
    return [_raw_key(text, "the public key")]


def read_bundle(path: Path) -> dict[str, Any]:
    """The bundle of an exported JSON file, or the one attached inside a case file (unchecked here)."""
    data = path.read_bytes()
    if data.startswith(b"%PDF"):
        attachments = _pdf_attachments(data)
        if BUNDLE_ATTACHMENT not in attachments:
            raise InputError(f"{path}: no attachment named {BUNDLE_ATTACHMENT}")
        data = attachments[BUNDLE_ATTACHMENT]
    return _load_bundle(data, str(path))


# --- the command ----------------------------------------------------------------------------------
def report_lines(report: Report, what: str) -> list[str]:
    lines = [
        f"{what}: " + ("a case file (PDF)" if report.signature is not None or _is_pdf_report(report) else "a bundle")
    ]
    lines += [f"  [{check.status}] {check.name}: {check.detail}" for check in report.checks]
    lines += [f"warning: {warning}" for warning in report.warnings]
    lines += [f"PROBLEM {problem}" for problem in report.problems]
    if report.ok:
        verdict = "VERIFIED"
        if report.key_source == "bundle":
            verdict += " (checkpoint key NOT pinned: taken from the bundle, as asked)"
    else:
        verdict = f"NOT VERIFIED: {len(report.problems)} problem(s)"
    return [*lines, verdict]


def _is_pdf_report(report: Report) -> bool:
    return any(check.name in ("signature", "certificate") for check in report.checks)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Verify a Sequester case file (PDF) or audit bundle (JSON) offline, against trust anchors you "
        "give: the case-file certificate and the checkpoint key the deployment publishes."
    )
    parser.add_argument("evidence", type=Path, help="a case file (PDF) or an exported bundle (JSON)")
    parser.add_argument(
        "--certificate",
        action="append",
        default=[],
        help="trust anchor for the case file's signature: the deployment's sequester-casefile-certificate.pem "
        "(PEM or DER; repeat or give a PEM holding several)",
    )
    parser.add_argument(
        "--tsa-certificate", action="append", default=[], help="trust anchor for the RFC 3161 timestamp (PEM or DER)"
    )
    parser.add_argument(
        "--public-key",
        action="append",
        default=[],
        help="pinned checkpoint key: the deployment's sequester-audit-key.json (file), a PEM file, or base64",
    )
    parser.add_argument(
        "--trust-bundle-key",
        action="store_true",
        help="accept the checkpoint key carried in the bundle (not pinned: the report says so)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    for noisy in ("pyhanko", "pyhanko_certvalidator"):  # every finding is in the report: no tracebacks
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    try:
        data = args.evidence.read_bytes()
        pinned = [key for value in args.public_key for key in read_public_keys(value)]
        certificates = [c for name in args.certificate for c in read_certificates(Path(name).read_bytes())]
        tsa = [c for name in args.tsa_certificate for c in read_certificates(Path(name).read_bytes())]
        report = verify_evidence(
            data,
            certificates=certificates,
            tsa_certificates=tsa,
            pinned_keys=pinned,
            trust_bundle_key=args.trust_bundle_key,
            where=str(args.evidence),
        )
    except (InputError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print("\n".join(report_lines(report, str(args.evidence))))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
