"""Small secrets at rest (TOTP seeds, webhook secrets): AES-256-GCM under a key derived from the master key."""

from __future__ import annotations

import hashlib
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def _key(purpose: str) -> AESGCM:
    root = settings.SEQUESTER_MASTER_KEY or hashlib.sha256(settings.SECRET_KEY.encode()).digest()
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"sequester-seal:{purpose}".encode()).derive(
        root
    )
    return AESGCM(derived)


def seal(purpose: str, secret: bytes, *, context: bytes = b"") -> bytes:
    nonce = os.urandom(12)
    return nonce + _key(purpose).encrypt(nonce, secret, context)


def unseal(purpose: str, sealed: bytes, *, context: bytes = b"") -> bytes:
    sealed = bytes(sealed)
    return _key(purpose).decrypt(sealed[:12], sealed[12:], context)
