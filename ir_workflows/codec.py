"""Temporal payloads are encrypted (AES-256-GCM) before they leave the process: workflow inputs and
results hold incident facts (keys, people, data categories) that the Temporal server has no need to
read. The key id travels in the payload metadata, so keys can rotate: the first configured key
encrypts, every configured key decrypts."""

from __future__ import annotations

import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
_AAD = b"sequester-temporal-payload"


class PayloadDecryptionError(ValueError):
    pass


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("the payload codec needs at least one key")
        self._current_id = keys[0][0]
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys}

    @property
    def current_key_id(self) -> str:
        return self._current_id

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher = self._ciphers[self._current_id]
        out = []
        for payload in payloads:
            nonce = os.urandom(12)
            sealed = cipher.encrypt(nonce, payload.SerializeToString(), _AAD)
            out.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID: self._current_id.encode()},
                    data=nonce + sealed,
                )
            )
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for payload in payloads:
            if payload.metadata.get("encoding", b"") != ENCODING:
                out.append(payload)  # not ours (e.g. written before encryption): pass through
                continue
            key_id = payload.metadata.get(KEY_ID, b"").decode()
            cipher = self._ciphers.get(key_id)
            if cipher is None:
                raise PayloadDecryptionError(f"unknown payload key id {key_id!r}")
            try:
                clear = cipher.decrypt(payload.data[:12], payload.data[12:], _AAD)
            except InvalidTag:
                raise PayloadDecryptionError("payload failed authentication") from None
            out.append(Payload.FromString(clear))
        return out
