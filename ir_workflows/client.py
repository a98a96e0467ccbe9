"""The one place that connects to Temporal with the deployment's settings (and its payload codec)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import functools
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from ir_workflows.codec import EncryptionCodec
from ir_workflows.failures import TrimmedEncodedFailureConverter


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
    """Payloads and failure texts encrypted by the codec; failures trimmed to their cause (failures.py)."""
    return dataclasses.replace(
        DataConverter.default,
        payload_codec=payload_codec(),
        failure_converter_class=TrimmedEncodedFailureConverter,
    )


async def temporal_client(
    *, address: str | None = None, namespace: str | None = None, runtime: Runtime | None = None
) -> Client:
    return await Client.connect(
        address or settings.TEMPORAL_ADDRESS,
        namespace=namespace or settings.TEMPORAL_NAMESPACE,
        data_converter=data_converter(),
        runtime=runtime,
    )


def metrics_runtime(bind_address: str) -> Runtime:
    """A Temporal runtime whose SDK metrics (task slots, polls, latencies, …) Prometheus scrapes at
    ``http://<bind_address>/metrics`` (the worker's own metrics, beside the web's ``/metrics``)."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind_address)))


T = TypeVar("T")


class _ClientLoop:
    """One background event loop per process holding a connected client per (address, namespace):
    short-lived callers (Celery tasks, views) reuse the connection instead of opening one per call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: dict[tuple[str, str], Client] = {}

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="temporal-client", daemon=True).start()
                self._loop = loop
            return self._loop

    async def _client(self, address: str, namespace: str) -> Client:
        key = (address, namespace)
        client = self._clients.get(key)
        if client is None:
            client = await temporal_client(address=address, namespace=namespace)
            self._clients[key] = client
        return client

    def run(self, work: Callable[[Client], Awaitable[T]], *, timeout: float | None = None) -> T:
        """Run ``work`` with the shared client; never waits longer than ``timeout`` (by default the RPC
        timeout and a margin): a caller (a Celery process) is not held by a Temporal that does not answer.
        Raises ``TimeoutError`` then (the work is cancelled)."""
        address, namespace = settings.TEMPORAL_ADDRESS, settings.TEMPORAL_NAMESPACE

        async def call() -> T:
            return await work(await self._client(address, namespace))

        future = asyncio.run_coroutine_threadsafe(call(), self._ensure_loop())
        try:
            return future.result(timeout if timeout is not None else settings.TEMPORAL_RPC_TIMEOUT_SECONDS + 2.0)
        except TimeoutError:
            future.cancel()
            raise


shared_client = _ClientLoop()
