"""The load run: a scratch database, ``manage.py runstack`` on it (free ports, its own var dir), then
rounds of signals at a fixed rate among encrypt clients that never pause. Each round's signal p99 is
printed; the figure is their median, with min and max."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.db import connection

from bench.timing import percentile

SIGNALS_PER_MINUTE = 200
ENCRYPT_CLIENTS = 20
ROUNDS = 5
ROUND_SECONDS = 15.0
TARGET_P99_S = 1.0
ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass
class Round:
    signal_latencies: list[float] = field(default_factory=list)
    signal_errors: list[str] = field(default_factory=list)
    encrypts: int = 0
    encrypt_latencies: list[float] = field(default_factory=list)
    encrypt_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _post(url: str, token: str, body: dict[str, Any], content_type: str = "application/json") -> tuple[int, bytes]:
    request = urllib.request.Request(  # noqa: S310 - our own loopback server
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own loopback server
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _free_port() -> int:
    from webapp.stack.temporal_dev import free_port

    return free_port()


@contextmanager
def _scratch_database() -> Iterator[str]:
    """A database of its own next to the configured one (PostgreSQL), dropped at the end."""
    name = f"bench_load_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    config = connection.settings_dict
    password = f":{config['PASSWORD']}" if config["PASSWORD"] else ""
    url = f"postgres://{config['USER'] or ''}{password}@{config['HOST'] or '127.0.0.1'}:{config['PORT'] or 5432}/{name}"
    try:
        yield url
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [name],
            )
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


@contextmanager
def _stack(database_url: str, var_dir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """``manage.py runstack`` (what ``make run`` starts), with the development settings, on its own
    ports, var dir and database; yields the web URL and the environment for its management commands."""
    web_port, temporal_port, ui_port = _free_port(), _free_port(), _free_port()
    env = {
        key: value for key, value in os.environ.items() if key not in ("DJANGO_SETTINGS_MODULE", "TEMPORAL_ADDRESS")
    } | {
        "DATABASE_URL": database_url,
        "SEQUESTER_VAR_DIR": str(var_dir),
        "PYTHONUNBUFFERED": "1",
    }
    log = (var_dir / "stack.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "runstack",
            "--port",
            str(web_port),
            "--temporal-port",
            str(temporal_port),
            "--temporal-ui-port",
            str(ui_port),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{web_port}"
    try:
        deadline = time.monotonic() + 900  # migrate, collectstatic and seeding first: minutes on a busy box
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the stack exited ({process.returncode}):\n{_tail(var_dir / 'stack.log')}")
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:  # noqa: S310 - loopback
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the stack did not become healthy:\n{_tail(var_dir / 'stack.log')}")
            time.sleep(1)
        yield url, env | {"TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}"}
    finally:
        process.terminate()  # the supervisor stops its children (each in its own process group)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _token(env: dict[str, str], account: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", "issue_token", account, "--days", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=True,
        text=True,
    )
    return done.stdout.strip().splitlines()[-1]


def _create_keys(url: str, token: str, prefix: str, count: int) -> list[str]:
    ids = []
    for i in range(count):
        status, body = _post(f"{url}/api/v1/keys/", token, {"alias": f"{prefix}-{i}", "purpose": "bench"})
        assert status == 201, body[:300]
        ids.append(json.loads(body)["id"])
    return ids


def _encrypt_client(url: str, token: str, key_id: str, stats: Round, stop: threading.Event) -> None:
    body = {"plaintext_b64": "c2VxdWVzdGVyIGxvYWQgYmVuY2g="}
    while not stop.is_set():
        started = time.perf_counter()
        try:
            status, response = _post(f"{url}/api/v1/keys/{key_id}/encrypt", token, body)
        except OSError as error:
            status, response = 0, str(error).encode()
        elapsed = time.perf_counter() - started
        with stats.lock:
            if status == 200:
                stats.encrypts += 1
                stats.encrypt_latencies.append(elapsed)
            else:
                stats.encrypt_errors.append(f"{status}: {response[:200]!r}")


def _signal(url: str, token: str, account: str, key_id: str, stats: Round) -> None:
    event = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": f"principal:{account}/load",
        "type": "bench.leak",
        "data": {"keys": [{"id": key_id}], "severity": "high"},
    }
    started = time.perf_counter()
    try:
        status, response = _post(f"{url}/api/v1/signals/", token, event, "application/cloudevents+json")
    except OSError as error:
        status, response = 0, str(error).encode()
    elapsed = time.perf_counter() - started
    with stats.lock:
        if status == 202:
            stats.signal_latencies.append(elapsed)
        else:
            stats.signal_errors.append(f"{status}: {response[:200]!r}")


def _round(url: str, app_token: str, detector: tuple[str, str], enc_keys: list[str], sig_keys: list[str]) -> Round:
    stats = Round()
    stop = threading.Event()
    clients = [
        threading.Thread(target=_encrypt_client, args=(url, app_token, key_id, stats, stop), daemon=True)
        for key_id in enc_keys
    ]
    for client in clients:
        client.start()
    interval = 60.0 / SIGNALS_PER_MINUTE
    senders = []
    started = time.monotonic()
    for position, key_id in enumerate(sig_keys):  # at a fixed rate, whatever the answers take
        time.sleep(max(0.0, started + position * interval - time.monotonic()))
        sender = threading.Thread(target=_signal, args=(url, detector[1], detector[0], key_id, stats), daemon=True)
        sender.start()
        senders.append(sender)
    for sender in senders:
        sender.join(60)
    stop.set()
    for client in clients:
        client.join(60)
    return stats


def run(out: IO[str]) -> int:
    if connection.vendor != "postgresql":
        out.write("  [n/a ] the load bench runs on PostgreSQL (set DATABASE_URL)\n")
        return 0
    per_round = int(ROUND_SECONDS * SIGNALS_PER_MINUTE / 60)
    with (
        tempfile.TemporaryDirectory(prefix="sqr-load-") as var,
        _scratch_database() as database_url,
        _stack(database_url, Path(var)) as (url, env),
    ):
        app_token, detector = _token(env, "load-app"), "load-detector"
        detector_token = _token(env, detector)
        enc_keys = _create_keys(url, app_token, "enc", ENCRYPT_CLIENTS)
        sig_keys = _create_keys(url, app_token, "sig", per_round * ROUNDS + 3)
        _round(url, app_token, (detector, detector_token), enc_keys[:4], sig_keys[-3:])  # warm-up
        rounds = []
        for number in range(ROUNDS):
            keys = sig_keys[number * per_round : (number + 1) * per_round]
            stats = _round(url, app_token, (detector, detector_token), enc_keys, keys)
            rounds.append(stats)
            p99 = percentile(stats.signal_latencies, 99) if stats.signal_latencies else float("inf")
            enc_p99 = percentile(stats.encrypt_latencies, 99) if stats.encrypt_latencies else float("inf")
            out.write(
                f"      round {number + 1}: {len(stats.signal_latencies)}/{len(keys)} signals accepted, "
                f"p99 {p99 * 1000:.0f} ms; {stats.encrypts} encrypts by {ENCRYPT_CLIENTS} clients, "
                f"p99 {enc_p99 * 1000:.0f} ms; errors: {len(stats.signal_errors)} signal, "
                f"{len(stats.encrypt_errors)} encrypt\n"
            )
            for error in (stats.signal_errors + stats.encrypt_errors)[:3]:
                out.write(f"        error {error}\n")
    p99s = [percentile(r.signal_latencies, 99) if r.signal_latencies else float("inf") for r in rounds]
    errors = sum(len(r.signal_errors) + len(r.encrypt_errors) for r in rounds)
    median = statistics.median(p99s)
    met = errors == 0 and median <= TARGET_P99_S
    out.write(
        f"  [{'ok ' if met else 'MISS'}] {SIGNALS_PER_MINUTE} signals/min with {ENCRYPT_CLIENTS} concurrent encrypt "
        f"clients (gunicorn stack, PostgreSQL): signal p99 median {median * 1000:.0f} ms "
        f"(min {min(p99s) * 1000:.0f}, max {max(p99s) * 1000:.0f}; {ROUNDS} rounds of {per_round}), "
        f"errors {errors} (target: 0 errors, p99 <= {TARGET_P99_S * 1000:.0f} ms)\n"
    )
    return 0 if met else 1
