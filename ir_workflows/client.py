"""The one place that connects to Temporal with the deployment's settings (and its payload codec)."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from temporalio.client import Client
from temporalio.converter import DataConverter

from ir_workflows.codec import EncryptionCodec


def codec_keys() -> list[tuple[str, bytes]]:
    configured = settings.TEMPORAL_CODEC_KEYS
    if configured:
        keys = []
        for item in configured.split(","):
            key_id, _, encoded = item.strip().partition(":")
            try:
                key = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise ImproperlyConfigured(f"TEMPORAL_CODEC_KEYS: key {key_id!r} is not base64") from None
            if not key_id or len(key) != 32:
                raise ImproperlyConfigured("TEMPORAL_CODEC_KEYS entries are id:base64(32 bytes)")
            keys.append((key_id, key))
        return keys
    if not settings.SEQUESTER_MASTER_KEY:
        raise ImproperlyConfigured("set TEMPORAL_CODEC_KEYS or SEQUESTER_MASTER_KEY to encrypt Temporal payloads")
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"sequester-temporal-codec-v1").derive(
        settings.SEQUESTER_MASTER_KEY
    )
    return [("mk1", derived)]


@functools.cache
def _codec(keys: tuple[tuple[str, bytes], ...]) -> EncryptionCodec:
    return EncryptionCodec(keys)


def payload_codec() -> EncryptionCodec:
    return _codec(tuple(codec_keys()))


def data_converter() -> DataConverter:
    return dataclasses.replace(DataConverter.default, payload_codec=payload_codec())


async def temporal_client(*, address: str | None = None, namespace: str | None = None) -> Client:
    return await Client.connect(
        address or settings.TEMPORAL_ADDRESS,
        namespace=namespace or settings.TEMPORAL_NAMESPACE,
        data_converter=data_converter(),
    )
