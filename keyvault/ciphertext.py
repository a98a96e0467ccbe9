"""Self-describing ciphertext: format version, key id, key version and nonce travel with the data.

    b"SQR" | format (1 byte, =1) | key id (16 bytes, UUID) | key version (uint32 BE) | nonce (12) | ciphertext+tag

The 36-byte header is authenticated (it is part of the AEAD associated data), so a changed key id,
version or nonce fails decryption instead of decrypting under another key.
"""

from __future__ import annotations

import hashlib
import os
import struct
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat

MAGIC = b"SQR"
FORMAT_VERSION = 1
NONCE_BYTES = 12
TAG_BYTES = 16
_HEADER = struct.Struct(">3sB16sI12s")
HEADER_BYTES = _HEADER.size  # 36
PREFIX_BYTES = HEADER_BYTES - NONCE_BYTES  # magic, format, key id, version: the same for a key version
_LEADER = MAGIC + bytes([FORMAT_VERSION])


class CiphertextFormatError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Envelope:
    key_id: uuid.UUID
    key_version: int
    nonce: bytes
    body: bytes  # ciphertext and tag
    header: bytes

    @property
    def associated_data_prefix(self) -> bytes:
        return self.header


def header_for(key_id: uuid.UUID, key_version: int, nonce: bytes) -> bytes:
    return _HEADER.pack(MAGIC, FORMAT_VERSION, key_id.bytes, key_version, nonce)


def associated_data(header: bytes, aad: bytes) -> bytes:
    return header + aad


def pack(header: bytes, body: bytes) -> bytes:
    return header + body


def parse(blob: bytes) -> Envelope:
    if len(blob) < HEADER_BYTES + TAG_BYTES:
        raise CiphertextFormatError("the ciphertext is too short to be a Sequester ciphertext")
    magic, version, key_id, key_version, nonce = _HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise CiphertextFormatError("the ciphertext was not produced by Sequester (bad magic)")
    if version != FORMAT_VERSION:
        raise CiphertextFormatError(f"unsupported ciphertext format version {version}")
    return Envelope(
        key_id=uuid.UUID(bytes=key_id),
        key_version=key_version,
        nonce=nonce,
        body=blob[HEADER_BYTES:],
        header=blob[:HEADER_BYTES],
    )


def prefix_for(key_id: uuid.UUID, key_version: int) -> bytes:
    return _LEADER + key_id.bytes + key_version.to_bytes(4, "big")


def fresh_headers(prefix: bytes, count: int) -> tuple[list[bytes], list[bytes]]:
    """Headers with fresh random nonces for ``count`` items (one call to the OS for all of them)."""
    pool = os.urandom(NONCE_BYTES * count)
    nonces = [pool[i : i + NONCE_BYTES] for i in range(0, NONCE_BYTES * count, NONCE_BYTES)]
    return list(map(prefix.__add__, nonces)), nonces


@dataclass(frozen=True, slots=True)
class Group:
    """The positions of a batch's ciphertexts made by one key version."""

    key_id: uuid.UUID
    key_version: int
    positions: list[int]


def group_batch(blobs: Sequence[bytes]) -> list[Group]:
    """Validate every ciphertext's header and group the batch by key version, without an object per item."""
    minimum = HEADER_BYTES + TAG_BYTES
    if blobs and len(blobs[0]) >= minimum and blobs[0][:4] == _LEADER:
        # The usual batch: one key version throughout, checked at C speed.
        prefix = blobs[0][:PREFIX_BYTES]
        if min(map(len, blobs)) >= minimum and all(map(bytes.startswith, blobs, repeat(prefix))):
            ident = prefix[4:]
            return [Group(uuid.UUID(bytes=ident[:16]), int.from_bytes(ident[16:], "big"), list(range(len(blobs))))]
    groups: defaultdict[bytes, list[int]] = defaultdict(list)
    for position, blob in enumerate(blobs):
        if len(blob) < minimum:
            raise CiphertextFormatError(f"item {position}: too short to be a Sequester ciphertext")
        if blob[:4] != _LEADER:
            if blob[:3] != MAGIC:
                raise CiphertextFormatError(f"item {position}: not produced by Sequester (bad magic)")
            raise CiphertextFormatError(f"item {position}: unsupported ciphertext format version {blob[3]}")
        groups[blob[4:PREFIX_BYTES]].append(position)
    return [
        Group(uuid.UUID(bytes=ident[:16]), int.from_bytes(ident[16:], "big"), positions)
        for ident, positions in groups.items()
    ]


def fingerprint(blob: bytes) -> str:
    """A short, non-reversible reference to a ciphertext for the audit trail (never the data)."""
    return hashlib.sha256(blob).hexdigest()[:32]
