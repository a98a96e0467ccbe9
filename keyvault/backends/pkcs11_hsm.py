"""PKCS#11 HSM backend (python-pkcs11; SoftHSM2 in tests and in `make run --softhsm`).

Each key version is a token object: AES-256, sensitive, never extractable, found by CKA_ID (key id and
version). Restricting sets CKA_ENCRYPT and CKA_WRAP to false, so the HSM itself refuses to encrypt;
verifying reads both attributes back. SoftHSM lets CKA_ENCRYPT be set back to true, so a periodic job
re-verifies every restricted key (drift).
"""

from __future__ import annotations

import struct
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from keyvault.backends.base import (
    FINGERPRINT_LABEL,
    AeadBatch,
    AuthenticationFailed,
    BackendError,
    BackendRefused,
    KeyBackend,
    NewVersion,
    Restriction,
    VersionRef,
)


def object_id(key_id: uuid.UUID, version: int) -> bytes:
    return key_id.bytes + struct.pack(">I", version)


class Pkcs11Backend(KeyBackend):
    name = "pkcs11"

    def __init__(self, *, module: str, token_label: str, pin: str) -> None:
        import pkcs11

        try:
            self._lib = pkcs11.lib(module)
            self._token = self._lib.get_token(token_label=token_label)
        except (pkcs11.PKCS11Error, RuntimeError, OSError) as exc:
            raise BackendError(f"PKCS#11 token {token_label!r} unavailable: {exc!r}", permanent=False) from exc
        self._pin = pin
        self._local = threading.local()
        # Attribute changes and the exception path must not interleave on one object.
        self._attribute_lock = threading.Lock()

    # --- sessions and objects ------------------------------------------------------------------
    def _session(self) -> Any:
        import pkcs11

        session = getattr(self._local, "session", None)
        if session is None:
            try:
                session = self._token.open(user_pin=self._pin, rw=True)
            except pkcs11.UserAlreadyLoggedIn:
                # Login state is per process, not per session: another session of ours logged in.
                session = self._token.open(rw=True)
            self._local.session = session
            self._local.keys = {}
        return session

    def _key(self, ref: VersionRef) -> Any:
        import pkcs11

        self._session()
        cache: dict[bytes, Any] = self._local.keys
        oid = bytes(ref.material)
        key = cache.get(oid)
        if key is None:
            try:
                key = self._session().get_key(id=oid, key_type=pkcs11.KeyType.AES)
            except pkcs11.NoSuchKey:
                raise BackendError(f"no HSM object for key {ref.key_id} v{ref.version}", permanent=True) from None
            cache[oid] = key
        return key

    @contextmanager
    def _errors(self, operation: str, key: Any = None) -> Iterator[None]:
        import pkcs11
        from pkcs11 import Attribute

        try:
            yield
        except pkcs11.PKCS11Error as exc:
            if operation == "decrypt" and isinstance(exc, pkcs11.GeneralError | pkcs11.EncryptedDataInvalid):
                raise AuthenticationFailed() from exc
            if operation == "encrypt" and key is not None and not key[Attribute.ENCRYPT]:
                raise BackendRefused("the HSM refused to encrypt: CKA_ENCRYPT is false") from exc
            raise BackendError(f"HSM {operation} failed: {type(exc).__name__}", permanent=False) from exc

    @staticmethod
    def _params(nonce: bytes, aad: bytes) -> Any:
        from pkcs11.mechanisms import GCMParams

        return GCMParams(nonce, aad, 128)

    # --- interface -----------------------------------------------------------------------------
    def create_version(self, *, key_id: uuid.UUID, version: int) -> NewVersion:
        import pkcs11
        from pkcs11 import Attribute

        oid = object_id(key_id, version)
        with self._errors("generate a key"):
            key = self._session().generate_key(
                pkcs11.KeyType.AES,
                256,
                id=oid,
                label=f"sequester-{key_id}-v{version}",
                store=True,
                template={
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.MODIFIABLE: True,
                    Attribute.ENCRYPT: True,
                    Attribute.DECRYPT: True,
                    Attribute.WRAP: True,
                    Attribute.UNWRAP: True,
                    Attribute.SIGN: True,
                },
            )
            fingerprint = key.sign(FINGERPRINT_LABEL, mechanism=pkcs11.Mechanism.AES_CMAC).hex()
        return NewVersion(material=oid, fingerprint=fingerprint)

    def _encrypt_all(self, key: Any, batch: AeadBatch) -> list[bytes]:
        import pkcs11

        mechanism = pkcs11.Mechanism.AES_GCM
        return [
            key.encrypt(data, mechanism=mechanism, mechanism_param=self._params(nonce, aad))
            for nonce, data, aad in zip(batch.nonces, batch.data, batch.aads, strict=True)
        ]

    def encrypt(self, ref: VersionRef, batch: AeadBatch, *, exception: bool = False) -> list[bytes]:
        from pkcs11 import Attribute

        key = self._key(ref)
        if not exception:
            with self._errors("encrypt", key):
                return self._encrypt_all(key, batch)
        # An approved exception: lift CKA_ENCRYPT for exactly these operations, then restore it.
        with self._attribute_lock, self._errors("encrypt", key):
            restricted = not key[Attribute.ENCRYPT]
            if restricted:
                key[Attribute.ENCRYPT] = True
            try:
                return self._encrypt_all(key, batch)
            finally:
                if restricted:
                    key[Attribute.ENCRYPT] = False

    def decrypt(self, ref: VersionRef, batch: AeadBatch) -> list[bytes]:
        import pkcs11

        key = self._key(ref)
        mechanism = pkcs11.Mechanism.AES_GCM
        with self._errors("decrypt"):
            return [
                key.decrypt(data, mechanism=mechanism, mechanism_param=self._params(nonce, aad))
                for nonce, data, aad in zip(batch.nonces, batch.data, batch.aads, strict=True)
            ]

    def restrict_to_decrypt(self, ref: VersionRef) -> bytes:
        from pkcs11 import Attribute

        key = self._key(ref)
        with self._attribute_lock, self._errors("restrict the key"):
            key[Attribute.ENCRYPT] = False
            key[Attribute.WRAP] = False
        return bytes(ref.material)

    def allow_encrypt(self, ref: VersionRef) -> bytes:
        from pkcs11 import Attribute

        key = self._key(ref)
        with self._attribute_lock, self._errors("lift the restriction"):
            key[Attribute.ENCRYPT] = True
            key[Attribute.WRAP] = True
        return bytes(ref.material)

    def verify_restriction(self, ref: VersionRef) -> Restriction:
        from pkcs11 import Attribute

        key = self._key(ref)
        with self._errors("read key attributes"):
            encrypt, wrap = bool(key[Attribute.ENCRYPT]), bool(key[Attribute.WRAP])
        return Restriction(encrypt_allowed=encrypt, wrap_allowed=wrap, detail=f"CKA_ENCRYPT={encrypt} CKA_WRAP={wrap}")

    def destroy(self, ref: VersionRef) -> None:
        key = self._key(ref)
        with self._errors("destroy the key"):
            key.destroy()
        self._local.keys.pop(bytes(ref.material), None)

    # --- test and operator helpers -------------------------------------------------------------
    def set_encrypt_attribute(self, ref: VersionRef, value: bool) -> None:
        """What an operator (or attacker) with HSM access can do; used to show drift detection."""
        from pkcs11 import Attribute

        with self._attribute_lock:
            self._key(ref)[Attribute.ENCRYPT] = value
