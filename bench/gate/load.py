"""The load client (Django-free, run in its own processes): one keep-alive HTTP connection per
process, the same request again and again for a fixed time, each latency recorded."""

from __future__ import annotations

import http.client
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Call:
    host: str
    port: int
    path: str
    body: bytes
    headers: tuple[tuple[str, str], ...]


def hammer(call: Call, start_at: float, seconds: float) -> list[float]:
    """Wait until ``start_at`` (wall clock, so that every process starts together), then send ``call``
    until ``seconds`` have passed; returns each request's latency in seconds. A non-200 answer raises."""
    connection = http.client.HTTPConnection(call.host, call.port, timeout=120)
    headers = dict(call.headers)
    connection.request("POST", call.path, call.body, headers)  # connect and warm this connection
    _read(connection)
    time.sleep(max(0.0, start_at - time.time()))
    latencies: list[float] = []
    clock = time.perf_counter
    end = clock() + seconds
    while (started := clock()) < end:
        connection.request("POST", call.path, call.body, headers)
        _read(connection)
        latencies.append(clock() - started)
    connection.close()
    return latencies


def _read(connection: http.client.HTTPConnection) -> bytes:
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {body[:300]!r}")
    return body
