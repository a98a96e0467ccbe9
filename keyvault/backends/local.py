"""The embedded default: AES-256-GCM with key material kept only wrapped by a master key.

Stored material: b"LK1" | mode (b"E" encrypt+decrypt, b"D" decrypt-only) | nonce (12) | wrapped key.
The mode is bound into the wrap's associated data, so the decrypt-only restriction is cryptographic:
flipping the mode byte in the database makes the material unreadable, and a decrypt-only version can
only be opened for encryption through the explicit exception path of the gate.
"""

from __future__ import annotations

import os
import struct
import threading
import uuid
from collections import OrderedDict

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.cmac import CMAC

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

_PREFIX = b"LK1"
ENCRYPT_MODE = b"E"
DECRYPT_ONLY_MODE = b"D"
_CACHE_SIZE = 4096


def fingerprint_of(raw_key: bytes) -> str:
    mac = CMAC(algorithms.AES(raw_key))
    mac.update(FINGERPRINT_LABEL)
    return mac.finalize().hex()


class LocalBackend(KeyBackend):
    name = "local"

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ValueError("the master key must be 32 bytes (AES-256)")
        self._master = AESGCM(master_key)
        self._cache: OrderedDict[bytes, AESGCM] = OrderedDict()
        self._lock = threading.Lock()

    # --- material ------------------------------------------------------------------------------
    @staticmethod
    def _context(key_id: uuid.UUID, version: int, mode: bytes) -> bytes:
        return b"sequester-local-key|" + key_id.bytes + struct.pack(">I", version) + mode

    def _wrap(self, key_id: uuid.UUID, version: int, raw: bytes, mode: bytes) -> bytes:
        nonce = os.urandom(12)
        return _PREFIX + mode + nonce + self._master.encrypt(nonce, raw, self._context(key_id, version, mode))

    def _unwrap(self, ref: VersionRef) -> tuple[bytes, bytes]:
        material = bytes(ref.material)
        if not material.startswith(_PREFIX) or len(material) < len(_PREFIX) + 1 + 12 + 32 + 16:
            raise BackendError("stored key material is not in the local keystore format", permanent=True)
        mode = material[3:4]
        nonce, wrapped = material[4:16], material[16:]
        try:
            raw = self._master.decrypt(nonce, wrapped, self._context(ref.key_id, ref.version, mode))
        except InvalidTag:
            raise BackendError(
                "stored key material failed authentication (wrong master key or altered)", permanent=True
            ) from None
        return mode, raw

    def _cipher(self, ref: VersionRef, *, for_encrypt: bool, exception: bool = False) -> AESGCM:
        material = bytes(ref.material)
        mode = material[3:4]
        if for_encrypt and mode != ENCRYPT_MODE and not exception:
            raise BackendRefused("the local keystore holds this key version as decrypt-only")
        with self._lock:
            cipher = self._cache.get(material)
            if cipher is not None:
                self._cache.move_to_end(material)
                return cipher
        _, raw = self._unwrap(ref)
        cipher = AESGCM(raw)
        with self._lock:
            self._cache[material] = cipher
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return cipher

    # --- interface -----------------------------------------------------------------------------
    def create_version(self, *, key_id: uuid.UUID, version: int) -> NewVersion:
        raw = AESGCM.generate_key(bit_length=256)
        return NewVersion(material=self._wrap(key_id, version, raw, ENCRYPT_MODE), fingerprint=fingerprint_of(raw))

    def encrypt(self, ref: VersionRef, batch: AeadBatch, *, exception: bool = False) -> list[bytes]:
        seal = self._cipher(ref, for_encrypt=True, exception=exception).encrypt
        return list(map(seal, batch.nonces, batch.data, batch.aads))

    def decrypt(self, ref: VersionRef, batch: AeadBatch) -> list[bytes]:
        open_ = self._cipher(ref, for_encrypt=False).decrypt
        try:
            return list(map(open_, batch.nonces, batch.data, batch.aads))
        except InvalidTag:
            raise AuthenticationFailed() from None

    def restrict_to_decrypt(self, ref: VersionRef) -> bytes:
        mode, raw = self._unwrap(ref)
        if mode == DECRYPT_ONLY_MODE:
            return bytes(ref.material)
        return self._wrap(ref.key_id, ref.version, raw, DECRYPT_ONLY_MODE)

    def allow_encrypt(self, ref: VersionRef) -> bytes:
        mode, raw = self._unwrap(ref)
        if mode == ENCRYPT_MODE:
            return bytes(ref.material)
        return self._wrap(ref.key_id, ref.version, raw, ENCRYPT_MODE)

    def verify_restriction(self, ref: VersionRef) -> Restriction:
        mode, _ = self._unwrap(ref)  # proves the mode byte is the one the material was wrapped with
        allowed = mode == ENCRYPT_MODE
        return Restriction(encrypt_allowed=allowed, wrap_allowed=allowed, detail=f"mode {mode.decode()}")

    def destroy(self, ref: VersionRef) -> None:
        with self._lock:
            self._cache.pop(bytes(ref.material), None)
        # The material row is overwritten by the service; nothing else holds the key.
