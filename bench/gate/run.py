"""The gate at key-manager speed: Sequester's REST encrypt/decrypt vs OpenBao transit, side by side.

Both servers run on this machine in the same run, and the same client (``bench.gate.load``) drives
both, in alternating rounds. Sequester is served by the ``make run`` command (``web_argv``) on a
scratch database, OpenBao by ``bao server -dev``; each answers 1 KiB payloads to an application
token that may only use its key. The in-process figure (one encrypt through Django's test client:
time and queries) is the floor the HTTP figures stand on.
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from django.db import connection
from django.test.utils import setup_databases, setup_test_environment, teardown_databases

from bench.gate.load import Call, hammer
from bench.timing import percentile
from webapp.stack.key_managers import OpenBaoDev, openbao_dev_server
from webapp.stack.processes import port_open, web_argv
from webapp.stack.supervisor import ProcessSpec, Supervisor
from webapp.stack.temporal_dev import free_port

PAYLOAD = 1024
CLIENTS = (1, 8)
ROUND_SECONDS = float(os.environ.get("SEQUESTER_BENCH_GATE_SECONDS", "3"))
ROUNDS = int(os.environ.get("SEQUESTER_BENCH_GATE_ROUNDS", "3"))
BATCH_ITEMS = 250  # OpenBao refuses a JSON body of more than about 500 strings (its listener default)
BATCH_SECONDS = 4.0
RATIO_TARGET = 0.25
P99_TARGET_MS = 25.0
IN_PROCESS_REQUESTS = 500
IN_PROCESS_TARGET_MS = 2.0
IN_PROCESS_MAX_QUERIES = 2
HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class Sample:
    rate: float  # requests per second, all clients together
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True, slots=True)
class Targets:
    """What each side is asked: a path and body per operation, on one keep-alive connection."""

    port: int
    headers: tuple[tuple[str, str], ...]
    encrypt: tuple[str, bytes]
    decrypt: tuple[str, bytes]
    encrypt_batch: tuple[str, bytes]

    def call(self, operation: str) -> Call:
        path, body = getattr(self, operation)
        return Call(HOST, self.port, path, body, self.headers)


def _measure(pool: ProcessPoolExecutor, call: Call, clients: int, seconds: float) -> Sample:
    start_at = time.time() + 0.5
    futures = [pool.submit(hammer, call, start_at, seconds) for _ in range(clients)]
    latencies = [latency for future in futures for latency in future.result()]
    return Sample(len(latencies) / seconds, percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000)


# --- the two servers ------------------------------------------------------------------------------
def _sequester_targets(port: int, plaintext: bytes) -> Targets:
    from audit.actors import Actor
    from keyvault.services import gate, lifecycle
    from keyvault.types import Principal
    from webapp.services.api_tokens import api_token_issue

    token = api_token_issue(service_account="bench-app", name="bench", valid_days=1).secret
    key = lifecycle.key_create(actor=Actor.system("bench"), alias="payments", purpose="bench")
    (sealed,) = gate.gate_encrypt(
        key_id=key.id, items=[gate.EncryptItem(plaintext)], principal=Principal.for_rewrap_job("bench")
    )
    b64 = base64.b64encode(plaintext).decode()
    batch = {"items": [{"plaintext_b64": b64}] * BATCH_ITEMS}
    return Targets(
        port=port,
        headers=(("Authorization", f"Bearer {token}"), ("Content-Type", "application/json")),
        encrypt=(f"/api/v1/keys/{key.id}/encrypt", json.dumps({"plaintext_b64": b64}).encode()),
        decrypt=(
            f"/api/v1/keys/{key.id}/decrypt",
            json.dumps({"ciphertext_b64": base64.b64encode(sealed).decode()}).encode(),
        ),
        encrypt_batch=(f"/api/v1/keys/{key.id}/encrypt-batch", json.dumps(batch).encode()),
    )


def _openbao_targets(bao: OpenBaoDev, plaintext: bytes) -> Targets:
    bao.call("POST", "transit/keys/payments", {"type": "aes256-gcm96"})
    policy = 'path "transit/encrypt/payments" { capabilities = ["update"] }\n'
    policy += 'path "transit/decrypt/payments" { capabilities = ["update"] }\n'
    bao.call("PUT", "sys/policies/acl/payments-app", {"policy": policy})
    token = str(bao.call("POST", "auth/token/create", {"policies": ["payments-app"]})["auth"]["client_token"])
    b64 = base64.b64encode(plaintext).decode()
    sealed = bao.call("POST", "transit/encrypt/payments", {"plaintext": b64}, token=token)["data"]["ciphertext"]
    batch = {"batch_input": [{"plaintext": b64}] * BATCH_ITEMS}
    return Targets(
        port=int(bao.url.rpartition(":")[2]),
        headers=(("X-Vault-Token", token), ("Content-Type", "application/json")),
        encrypt=("/v1/transit/encrypt/payments", json.dumps({"plaintext": b64}).encode()),
        decrypt=("/v1/transit/decrypt/payments", json.dumps({"ciphertext": sealed}).encode()),
        encrypt_batch=("/v1/transit/encrypt/payments", json.dumps(batch).encode()),
    )


@contextmanager
def _sequester_server() -> Iterator[int]:
    """The web server as ``make run`` starts it, on the scratch database (its output read and dropped,
    as the stack's supervisor reads it)."""
    port = free_port()
    env = {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "SEQUESTER_BENCH_DATABASE_NAME": str(connection.settings_dict["NAME"]),
    }
    with open(os.devnull, "w") as sink:
        supervisor = Supervisor(out=sys.stderr if os.environ.get("SEQUESTER_BENCH_GATE_SHOW") else sink)
        try:
            supervisor.start(
                ProcessSpec("web", web_argv(f"{HOST}:{port}"), env=env, ready=lambda: port_open(HOST, port))
            )
            yield port
        finally:
            supervisor.stop_all()


# --- in process -----------------------------------------------------------------------------------
def in_process_encrypt() -> tuple[float, float, int]:
    """One encrypt through Django's whole request path (test client, no HTTP): the median wall time,
    the CPU time of this process per request (both in ms), and the statements sent."""
    from django.test import Client

    from audit.actors import Actor
    from keyvault.services import lifecycle
    from webapp.services.api_tokens import api_token_issue

    token = api_token_issue(service_account="bench-inproc", name="bench", valid_days=1).secret
    key = lifecycle.key_create(actor=Actor.system("bench"), alias="bench-inproc", purpose="bench")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    url = f"/api/v1/keys/{key.id}/encrypt"
    body = json.dumps({"plaintext_b64": base64.b64encode(os.urandom(PAYLOAD)).decode()})
    for _ in range(50):
        client.post(url, body, content_type="application/json")
    statements: list[str] = []

    def count(execute: Callable[..., object], sql: str, *args: object) -> object:
        statements.append(sql)
        return execute(sql, *args)

    with connection.execute_wrapper(count):
        assert client.post(url, body, content_type="application/json").status_code == 200
    latencies: list[float] = []
    cpu_started = time.process_time()
    for _ in range(IN_PROCESS_REQUESTS):
        started = time.perf_counter()
        client.post(url, body, content_type="application/json")
        latencies.append(time.perf_counter() - started)
    cpu = (time.process_time() - cpu_started) / IN_PROCESS_REQUESTS
    return percentile(latencies, 50) * 1000, cpu * 1000, len(statements)


# --- the report -----------------------------------------------------------------------------------
def _spread(values: list[float], fmt: str) -> str:
    middle = statistics.median(values)
    return f"{middle:{fmt}} [{min(values):{fmt}}-{max(values):{fmt}}]"


def run(out: IO[str]) -> int:
    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False)
    ok = True
    try:
        out.write(f"database: {connection.vendor}\n")
        ms, cpu_ms, queries = in_process_encrypt()
        met = ms <= IN_PROCESS_TARGET_MS and queries <= IN_PROCESS_MAX_QUERIES
        ok &= met
        out.write(
            f"  [{'ok ' if met else 'MISS'}] in process, one 1 KiB encrypt through the whole request path: "
            f"p50 {ms:.2f} ms, CPU {cpu_ms:.2f} ms/request ({IN_PROCESS_REQUESTS} requests), {queries} queries "
            f"(target <= {IN_PROCESS_TARGET_MS} ms, <= {IN_PROCESS_MAX_QUERIES} queries)\n"
        )
        plaintext = os.urandom(PAYLOAD)
        ours = _sequester_targets(0, plaintext)
        connection.close()  # the server's workers use the database from here on
        with _sequester_server() as port, openbao_dev_server() as bao, ProcessPoolExecutor(max(CLIENTS)) as pool:
            ours = Targets(port, ours.headers, ours.encrypt, ours.decrypt, ours.encrypt_batch)
            theirs = _openbao_targets(bao, plaintext)
            ok &= _table(out, pool, ours, theirs)
    finally:
        connection.close()
        teardown_databases(old_config, verbosity=0)
    return 0 if ok else 1


def _table(out: IO[str], pool: ProcessPoolExecutor, ours: Targets, theirs: Targets) -> bool:
    results: dict[tuple[str, str, int], list[Sample]] = {}
    for side in (ours, theirs):  # warm both servers (every worker's first requests)
        _measure(pool, side.call("encrypt"), max(CLIENTS), 1.0)
    for _ in range(ROUNDS):
        for operation in ("encrypt", "decrypt"):
            for clients in CLIENTS:
                for name, side in (("sequester", ours), ("openbao", theirs)):
                    sample = _measure(pool, side.call(operation), clients, ROUND_SECONDS)
                    results.setdefault((operation, name, clients), []).append(sample)
    out.write(
        f"  gate over HTTP, {PAYLOAD} B, keep-alive, {ROUNDS} alternating rounds of {ROUND_SECONDS:.0f} s: "
        "median [min-max]\n"
        f"  {'':<17}| {'Sequester req/s':<22} {'p50 ms':<18} {'p99 ms':<20}| {'OpenBao req/s':<22} "
        f"{'p50 ms':<18} {'p99 ms':<20}| ratio\n"
    )
    ok = True
    for operation in ("encrypt", "decrypt"):
        for clients in CLIENTS:
            mine, bao = results[(operation, "sequester", clients)], results[(operation, "openbao", clients)]
            ratios = [m.rate / b.rate for m, b in zip(mine, bao, strict=True)]
            p99 = statistics.median(m.p99_ms for m in mine)
            met = statistics.median(ratios) >= RATIO_TARGET and (clients == 1 or p99 <= P99_TARGET_MS)
            ok &= met
            out.write(
                f"  [{'ok ' if met else 'MISS'}] {operation:<7} {clients} cl | "
                f"{_spread([m.rate for m in mine], '6.0f'):<22} {_spread([m.p50_ms for m in mine], '5.1f'):<18} "
                f"{_spread([m.p99_ms for m in mine], '5.1f'):<20}| "
                f"{_spread([b.rate for b in bao], '6.0f'):<22} {_spread([b.p50_ms for b in bao], '5.1f'):<18} "
                f"{_spread([b.p99_ms for b in bao], '5.1f'):<20}| {_spread(ratios, '4.2f')}\n"
            )
    out.write(
        f"      targets: ratio >= {RATIO_TARGET} at 1 and {max(CLIENTS)} clients, p99 at {max(CLIENTS)} clients "
        f"<= {P99_TARGET_MS:.0f} ms\n"
    )
    mine_items, bao_items = [], []
    for _ in range(ROUNDS):
        mine_items.append(_measure(pool, ours.call("encrypt_batch"), 1, BATCH_SECONDS).rate * BATCH_ITEMS)
        bao_items.append(_measure(pool, theirs.call("encrypt_batch"), 1, BATCH_SECONDS).rate * BATCH_ITEMS)
    ratios = [m / b for m, b in zip(mine_items, bao_items, strict=True)]
    out.write(
        f"  [info] batch encrypt, {BATCH_ITEMS} x {PAYLOAD} B per request, 1 client: Sequester encrypt-batch "
        f"{_spread(mine_items, '7.0f')} items/s, OpenBao transit batch_input {_spread(bao_items, '7.0f')} items/s, "
        f"ratio {_spread(ratios, '4.2f')}\n"
    )
    return ok
