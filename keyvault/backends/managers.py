"""Key-manager connectors: backends whose keys live in another key manager and stay there.

A connector is a ``KeyBackend`` (so every place that restricts, verifies, restores or destroys a key on
its backend reaches the manager the same way) plus what only a manager has: a connection test, an
inventory to import, a successor for a replaced key, and rewrap by the manager's own operation.

Its errors say who is at fault, with a stable code each: the manager cannot be reached (retried), it
refused Sequester's credentials or lacks a permission (fix the set-up), or it does not know the key.
"""

from __future__ import annotations

import uuid
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

from keyvault.backends.base import AeadBatch, BackendError, BackendRefused, KeyBackend, NewVersion, VersionRef


class ManagerUnreachable(BackendError):
    code = "key_manager_unreachable"

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=False)


class ManagerDenied(BackendError):
    """Wrong credentials, or a permission the connector needs is missing."""

    code = "key_manager_denied"

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


class ManagerKeyUnknown(BackendError):
    code = "key_manager_unknown_key"

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


class ManagerMisconfigured(BackendError):
    code = "key_manager_invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


@dataclass(frozen=True, slots=True)
class RemoteVersion:
    version: int
    material: bytes  # what KeyVersion.material holds for it


@dataclass(frozen=True, slots=True)
class RemoteKey:
    """One key as the manager lists it."""

    ident: str  # the manager's id or name: backend_ref is "<manager name>:<ident>"
    name: str  # a human name (transit key name, KMS alias, KMIP Name): the alias unless taken
    versions: list[RemoteVersion]
    state: str  # a KeyState value as the manager sees it
    detail: dict[str, object] = field(default_factory=dict)


class ManagerConnector(KeyBackend):
    """What a key-manager connector adds to the backend interface."""

    name = "manager"
    manager_name: str = ""

    @abstractmethod
    def test_connection(self) -> str:
        """Reach the manager with the credentials and check the permissions the connector needs;
        returns a one-line description, raises ManagerUnreachable / ManagerDenied."""

    @abstractmethod
    def list_keys(self) -> list[RemoteKey]: ...

    @abstractmethod
    def successor(self, ref: VersionRef, *, key_id: uuid.UUID) -> NewVersion:
        """The replacement of the key ``ref`` belongs to: a new version or a new key on the manager, the
        manager's own alias moved to it where it has aliases."""

    @abstractmethod
    def ident_of(self, material: bytes) -> str:
        """The manager's id or name for the key a version's material belongs to (backend_ref's tail)."""

    def rewrap(self, source: VersionRef, target: VersionRef, ciphertexts: Sequence[bytes]) -> list[bytes]:
        """Re-encrypt the manager's ciphertexts under ``target`` with the manager's own operation."""
        raise BackendRefused(f"{type(self).__name__} has no rewrap operation")

    @property
    def native_rewrap(self) -> bool:
        return type(self).rewrap is not ManagerConnector.rewrap

    # Applications encrypt and decrypt on the manager itself; Sequester governs, it does not proxy.
    def encrypt(self, ref: VersionRef, batch: AeadBatch, *, exception: bool = False) -> list[bytes]:
        raise BackendRefused(
            f"this key lives in key manager {self.manager_name!r}: applications encrypt there, not through the gate"
        )

    def decrypt(self, ref: VersionRef, batch: AeadBatch) -> list[bytes]:
        raise BackendRefused(
            f"this key lives in key manager {self.manager_name!r}: applications decrypt there, not through the gate"
        )

    def create_version(self, *, key_id: uuid.UUID, version: int) -> NewVersion:
        raise BackendRefused(
            "keys of a key manager are created there and imported (key_manager_sync), or replaced by Sequester"
        )
