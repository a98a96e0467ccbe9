"""KMIP servers (most enterprise HSMs and key managers): keys stay there; Sequester changes their state.

- Suspended or deactivated: ``Revoke`` with reason *Cessation of Operation*, which moves an Active
  object to *Deactivated* — the protocol's state for "process only, no protect" (KMIP 1.x §4.1).
- Compromised: ``Revoke`` with reason *Key Compromise* and the compromise occurrence date: *Compromised*.
- Verified with ``Get Attributes`` (State; Cryptographic Usage Mask).
- Restore: KMIP has no way back from Deactivated. Where the server lets Sequester ``Get`` the key, the
  same key material is registered as a new Active object under the same Name and the Deactivated object
  is destroyed (old ciphertext still decrypts: same key); otherwise the restore is refused on the manager.
- Decrypt path: a server may refuse Decrypt on a revoked object (PyKMIP's does, for Deactivated too).
  Clients that hold ciphertext then ``Get`` the key and decrypt locally — KMIP allows Get in these
  states — which is how most KMIP clients (databases, hypervisors) work anyway.

A key version's material is the object's Unique Identifier. The client's identity is its TLS
certificate (PEM, sealed with the other credentials).
"""

from __future__ import annotations

import os
import shutil
import ssl
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from keyvault.backends.base import BackendError, BackendRefused, NewVersion, Restriction, VersionRef
from keyvault.backends.managers import (
    ManagerConnector,
    ManagerDenied,
    ManagerKeyUnknown,
    ManagerMisconfigured,
    ManagerUnreachable,
    RemoteKey,
    RemoteVersion,
)

_NOT_PROTECTING = {"PRE_ACTIVE", "DEACTIVATED", "COMPROMISED", "DESTROYED", "DESTROYED_COMPROMISED"}
_SEQUESTER_STATES = {
    "PRE_ACTIVE": "pre_active",
    "ACTIVE": "active",
    "DEACTIVATED": "deactivated",
    "COMPROMISED": "compromised",
}


class KmipConnector(ManagerConnector):
    def __init__(
        self,
        *,
        manager_name: str,
        address: str,
        client_cert: str,
        client_key: str,
        ca_pem: str = "",
        operation_policy_name: str = "",
    ) -> None:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ManagerMisconfigured(f"{manager_name}: a KMIP address is host:port, not {address!r}")
        if not client_cert or not client_key:
            raise ManagerMisconfigured(f"{manager_name}: a client certificate and key are required")
        self.manager_name = manager_name
        self.host, self.port = host, int(port)
        self.operation_policy_name = operation_policy_name or None
        self._dir = Path(tempfile.mkdtemp(prefix="sqr-kmip-client-"))
        weakref.finalize(self, shutil.rmtree, str(self._dir), True)
        self._paths = {}
        for name, text in (("cert.pem", client_cert), ("key.pem", client_key), ("ca.pem", ca_pem)):
            if text:
                path = self._dir / name
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(text if text.endswith("\n") else text + "\n")
                self._paths[name] = str(path)
        self._lock = threading.Lock()

    @contextmanager
    def _client(self, what: str, uid: str = "") -> Iterator[Any]:
        from kmip.pie.client import ProxyKmipClient
        from kmip.pie.exceptions import ClientConnectionFailure, KmipOperationFailure

        client = ProxyKmipClient(
            hostname=self.host,
            port=self.port,
            cert=self._paths["cert.pem"],
            key=self._paths["key.pem"],
            ca=self._paths.get("ca.pem"),
            config_file=os.devnull,  # never read ~/.pykmip: everything comes from the sealed settings
        )
        try:
            with self._lock:
                try:
                    client.open()
                except ClientConnectionFailure as exc:
                    cause = exc.__cause__ or exc.__context__
                    if isinstance(cause, ssl.SSLError) or "certificate" in str(exc).lower():
                        raise ManagerDenied(f"{self.manager_name}: TLS refused ({exc})") from None
                    raise ManagerUnreachable(f"{self.manager_name}: cannot reach {self.host}:{self.port}") from None
                except ssl.SSLError as exc:
                    raise ManagerDenied(f"{self.manager_name}: TLS refused ({exc.reason})") from None
                except OSError:
                    raise ManagerUnreachable(f"{self.manager_name}: cannot reach {self.host}:{self.port}") from None
                try:
                    yield client
                finally:
                    client.close()
        except KmipOperationFailure as exc:
            reason = getattr(exc.reason, "name", str(exc.reason))
            message = f"{self.manager_name}: {what}: {reason} {exc.message}"
            if reason == "ITEM_NOT_FOUND" or "Could not locate object" in str(exc.message):
                raise ManagerKeyUnknown(f"{self.manager_name}: no KMIP object {uid!r} ({exc.message})") from None
            if reason == "PERMISSION_DENIED":
                raise ManagerDenied(message) from None
            raise BackendError(message, permanent=True) from None
        except (OSError, ssl.SSLError) as exc:
            raise ManagerUnreachable(f"{self.manager_name}: {what}: {type(exc).__name__}") from None

    @staticmethod
    def _attributes(client: Any, uid: str, names: list[str]) -> dict[str, Any]:
        _, found = client.get_attributes(uid, names)
        values: dict[str, Any] = {}
        for attribute in found:
            name = attribute.attribute_name.value
            value = attribute.attribute_value
            if name == "Name":
                values.setdefault("Name", value.name_value.value)
            else:
                values[name] = getattr(value, "value", value)
        return values

    def _state(self, client: Any, uid: str) -> str:
        state = self._attributes(client, uid, ["State"]).get("State")
        return str(getattr(state, "name", state))

    # --- connector -------------------------------------------------------------------------------
    def ident_of(self, material: bytes) -> str:
        return bytes(material).decode()

    def test_connection(self) -> str:
        with self._client("Locate") as client:
            client.locate(maximum_items=1)
        return f"KMIP server at {self.host}:{self.port}"

    def list_keys(self) -> list[RemoteKey]:
        from kmip.core import enums

        found = []
        with self._client("Locate") as client:
            for uid in client.locate():
                attributes = self._attributes(client, uid, ["Object Type", "State", "Name", "Cryptographic Algorithm"])
                if attributes.get("Object Type") is not enums.ObjectType.SYMMETRIC_KEY:
                    continue
                state = _SEQUESTER_STATES.get(str(getattr(attributes.get("State"), "name", "")))
                if state is None:
                    continue  # destroyed
                algorithm = attributes.get("Cryptographic Algorithm")
                found.append(
                    RemoteKey(
                        ident=str(uid),
                        name=str(attributes.get("Name") or f"kmip-{uid}"),
                        versions=[RemoteVersion(1, str(uid).encode())],
                        state=state,
                        detail={"uid": str(uid), "algorithm": str(getattr(algorithm, "name", algorithm))},
                    )
                )
        return found

    def _revoke(self, ref: VersionRef, *, compromised: bool, occurred: int | None) -> bytes:
        from kmip.core import enums

        uid = bytes(ref.material).decode()
        with self._client("Revoke", uid) as client:
            state = self._state(client, uid)
            if compromised and state not in ("COMPROMISED", "DESTROYED_COMPROMISED"):
                client.revoke(
                    enums.RevocationReasonCode.KEY_COMPROMISE,
                    uid,
                    revocation_message="compromise confirmed in Sequester",
                    compromise_occurrence_date=occurred or int(time.time()),
                )
            elif not compromised and state == "ACTIVE":
                client.revoke(
                    enums.RevocationReasonCode.CESSATION_OF_OPERATION,
                    uid,
                    revocation_message="suspended by Sequester: process only, no protect",
                )
        return bytes(ref.material)

    def restrict_to_decrypt(self, ref: VersionRef) -> bytes:
        return self._revoke(ref, compromised=False, occurred=None)

    def restrict_keys(self, keys: Any) -> list[list[bytes]]:
        return [
            [
                self._revoke(
                    ref,
                    compromised=key.compromised,
                    occurred=int(key.compromise_occurred_at.timestamp()) if key.compromise_occurred_at else None,
                )
                for ref in key.versions
            ]
            for key in keys
        ]

    def verify_restriction(self, ref: VersionRef) -> Restriction:
        from kmip.core import enums

        uid = bytes(ref.material).decode()
        with self._client("Get Attributes", uid) as client:
            attributes = self._attributes(client, uid, ["State", "Cryptographic Usage Mask"])
        state = str(getattr(attributes.get("State"), "name", attributes.get("State")))
        mask = int(attributes.get("Cryptographic Usage Mask") or 0)
        can_encrypt = state not in _NOT_PROTECTING and bool(mask & enums.CryptographicUsageMask.ENCRYPT.value)
        can_wrap = state not in _NOT_PROTECTING and bool(mask & enums.CryptographicUsageMask.WRAP_KEY.value)
        return Restriction(encrypt_allowed=can_encrypt, wrap_allowed=can_wrap, detail=f"State={state} mask={mask}")

    def allow_encrypt(self, ref: VersionRef) -> bytes:
        from kmip.core import enums
        from kmip.pie.objects import SymmetricKey

        uid = bytes(ref.material).decode()
        with self._client("Restore", uid) as client:
            state = self._state(client, uid)
            if state == "ACTIVE":
                return bytes(ref.material)
            if state == "PRE_ACTIVE":
                client.activate(uid)
                return bytes(ref.material)
            if state != "DEACTIVATED":
                raise BackendRefused(f"{self.manager_name}: a {state} KMIP object never protects again")
            attributes = self._attributes(client, uid, ["Name", "Cryptographic Usage Mask", "Operation Policy Name"])
            try:
                old = client.get(uid)
            except Exception as exc:  # noqa: BLE001 - the server's word, whatever its shape
                raise BackendRefused(
                    f"{self.manager_name}: KMIP has no way back from Deactivated and the key cannot be exported "
                    f"({exc}): replace the key instead"
                ) from None
            mask = int(attributes.get("Cryptographic Usage Mask") or 0)
            masks = [m for m in enums.CryptographicUsageMask if m.value & mask] or [
                enums.CryptographicUsageMask.ENCRYPT,
                enums.CryptographicUsageMask.DECRYPT,
            ]
            copy = SymmetricKey(
                old.cryptographic_algorithm,
                old.cryptographic_length,
                old.value,
                masks=masks,
                name=str(attributes.get("Name") or f"sequester-{ref.key_id}"),
            )
            copy.operation_policy_name = attributes.get("Operation Policy Name") or self.operation_policy_name
            new_uid = client.register(copy)
            client.activate(new_uid)
            client.destroy(uid)  # the same key lives on in the Active copy
        return str(new_uid).encode()

    def destroy(self, ref: VersionRef) -> None:
        from kmip.core import enums

        uid = bytes(ref.material).decode()
        with self._client("Destroy", uid) as client:
            try:
                state = self._state(client, uid)
            except Exception:  # noqa: BLE001 - already gone is destroyed
                return
            if state == "ACTIVE":
                client.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, uid)
            client.destroy(uid)

    def successor(self, ref: VersionRef, *, key_id: uuid.UUID) -> NewVersion:
        from kmip.core import enums

        uid = bytes(ref.material).decode()
        with self._client("Create", uid) as client:
            attributes = self._attributes(client, uid, ["Name", "Operation Policy Name"])
            created = client.create(
                enums.CryptographicAlgorithm.AES,
                256,
                operation_policy_name=attributes.get("Operation Policy Name") or self.operation_policy_name,
                name=str(attributes.get("Name") or f"sequester-{key_id}"),
                cryptographic_usage_mask=[
                    enums.CryptographicUsageMask.ENCRYPT,
                    enums.CryptographicUsageMask.DECRYPT,
                ],
            )
            client.activate(created)
        return NewVersion(material=str(created).encode(), fingerprint="")
