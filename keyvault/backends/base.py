"""The small interface every key backend implements, and its typed errors.

A backend holds key material (or a handle to it) per key version and performs AES-256-GCM with it. It
applies the decrypt-only restriction with its own mechanism and can verify it; the gate decides who may
do what, the backend is the second lock.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

FINGERPRINT_LABEL = b"sequester-fingerprint-v1"


class BackendError(Exception):
    """A backend failed. ``permanent`` says whether retrying can help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class BackendRefused(BackendError):
    """The backend itself refused the operation (e.g. CKA_ENCRYPT is false)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


class AuthenticationFailed(BackendError):
    """The ciphertext or its associated data was altered, or it belongs to another key."""

    def __init__(self) -> None:
        super().__init__("the ciphertext failed authentication", permanent=True)


@dataclass(frozen=True, slots=True)
class VersionRef:
    key_id: uuid.UUID
    version: int
    material: bytes  # what the backend stored for this version


@dataclass(frozen=True, slots=True)
class NewVersion:
    material: bytes
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Restriction:
    encrypt_allowed: bool
    wrap_allowed: bool
    detail: str = ""

    @property
    def decrypt_only(self) -> bool:
        return not self.encrypt_allowed and not self.wrap_allowed


@dataclass(frozen=True, slots=True)
class AeadBatch:
    """Items as parallel lists (no object per item: batches of thousands stay cheap)."""

    nonces: list[bytes]
    data: list[bytes]
    aads: list[bytes]

    def __len__(self) -> int:
        return len(self.nonces)


@dataclass(frozen=True, slots=True)
class KeyRestriction:
    """One key's live versions and what to apply: a backend that restricts whole keys (a key manager)
    needs to see them together; ``compromised`` asks for the stronger, one-way measures."""

    key_id: uuid.UUID
    versions: list[VersionRef]
    compromised: bool = False
    compromise_occurred_at: datetime | None = None


class KeyBackend(ABC):
    name: str

    @abstractmethod
    def create_version(self, *, key_id: uuid.UUID, version: int) -> NewVersion: ...

    @abstractmethod
    def encrypt(self, ref: VersionRef, batch: AeadBatch, *, exception: bool = False) -> list[bytes]:
        """Encrypt each item. ``exception``: an approved encryption exception lets a restricted key encrypt."""

    @abstractmethod
    def decrypt(self, ref: VersionRef, batch: AeadBatch) -> list[bytes]: ...

    def wrap(self, ref: VersionRef, batch: AeadBatch) -> list[bytes]:
        """Wrap data keys. Both backends wrap with AES-GCM under the key, so the restriction applies."""
        return self.encrypt(ref, batch)

    def unwrap(self, ref: VersionRef, batch: AeadBatch) -> list[bytes]:
        return self.decrypt(ref, batch)

    @abstractmethod
    def restrict_to_decrypt(self, ref: VersionRef) -> bytes:
        """Make the version decrypt-only on the backend; returns the (possibly changed) stored material."""

    @abstractmethod
    def allow_encrypt(self, ref: VersionRef) -> bytes:
        """Lift the restriction (a false positive restored by quorum); returns the stored material."""

    @abstractmethod
    def verify_restriction(self, ref: VersionRef) -> Restriction: ...

    @abstractmethod
    def destroy(self, ref: VersionRef) -> None: ...

    # --- whole keys, in batches (a key manager edits one policy for a thousand keys) -------------
    def restrict_keys(self, keys: Sequence[KeyRestriction]) -> list[list[bytes]]:
        """Decrypt-only for every version of every key; returns each version's (possibly new) material."""
        return [[self.restrict_to_decrypt(ref) for ref in key.versions] for key in keys]

    def verify_keys(self, keys: Sequence[KeyRestriction]) -> list[list[Restriction]]:
        return [[self.verify_restriction(ref) for ref in key.versions] for key in keys]

    def allow_keys(self, keys: Sequence[KeyRestriction]) -> list[list[bytes]]:
        return [[self.allow_encrypt(ref) for ref in key.versions] for key in keys]
