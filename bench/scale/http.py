"""Concurrent signed-in clients over HTTP against the web process ``make run`` starts (its gunicorn command,
taken from ``webapp.stack.processes``), on the seeded database: p50/p95/p99 per page and list."""

from __future__ import annotations

import http.client
import os
import random
import signal
import socket
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bench.scale import ROOT
from bench.timing import percentile

ROUNDS = int(os.environ.get("SEQUESTER_BENCH_SCALE_ROUNDS", "6"))
WARM_UP_ROUNDS = 1
PAGE_TARGET_MS = 150.0
INCIDENT_PAGE_TARGET_MS = 300.0
BASELINE = "baseline: sign-in page (no data)"


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    paths: tuple[str, ...]  # one is picked per request (e.g. different incidents)
    target_ms: float = PAGE_TARGET_MS


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def web_server() -> Iterator[str]:
    """gunicorn exactly as ``make run`` starts it (workers, threads, worker class), on a free port."""
    from django.conf import settings

    from webapp.stack.processes import StackOptions, port_open, stack_processes
    from webapp.stack.supervisor import _pdeathsig_prefix

    port = _free_port()
    options = StackOptions(
        base_dir=Path(settings.BASE_DIR),
        var_dir=Path(settings.VAR_DIR),
        web_host="127.0.0.1",
        web_port=port,
        redis_url=settings.REDIS_URL,
        private_redis=False,
        temporal_address=settings.TEMPORAL_ADDRESS,
        temporal_namespace=settings.TEMPORAL_NAMESPACE,
        temporal_dev=False,
        temporal_ui_port=0,
    )
    web = next(spec for spec in stack_processes(options) if spec.name == "web")
    argv = list(web.argv)
    # The access log is the only change: one line per request would cost the clients' terminal, not the server.
    if "--access-logfile" in argv:
        at = argv.index("--access-logfile")
        del argv[at : at + 2]
    log = (Path(settings.VAR_DIR) / "bench-web.log").open("wb")
    process = subprocess.Popen(
        [*_pdeathsig_prefix(), *argv],  # gunicorn stops if the bench is killed
        env={**os.environ, **web.env},
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while not port_open("127.0.0.1", port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start (see {log.name})")
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def _session_cookies(usernames: list[str]) -> list[str]:
    """A signed-in session per client (as a sign-in makes it), in the server's session store."""
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client

    cookies = []
    for username in usernames:
        client = Client()
        client.force_login(User.objects.get(username=username))
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}")
    return cookies


def _endpoints() -> list[Endpoint]:
    from django.db.models import Count

    from audit.models import AuditEvent
    from incidents.models import Incident
    from keyvault.models import ManagedKey

    open_refs = list(
        Incident.objects.filter(status="open", reference__startswith="INC-year-").values_list("reference", flat=True)[
            :40
        ]
    )
    closed_refs = list(
        Incident.objects.filter(status="closed", reference__startswith="INC-year-").values_list("reference", flat=True)[
            :40
        ]
    )
    longest = (
        AuditEvent.objects.filter(incident__startswith="INC-year-")
        .values("incident")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("incident", flat=True)
        .first()
    )
    incidents = tuple(f"/incidents/{r}/" for r in [*open_refs, *closed_refs, longest] if r)
    kek = ManagedKey.objects.filter(alias__startswith="year-kek-").order_by("alias").values_list("id", flat=True)[7]
    dek = ManagedKey.objects.filter(alias__startswith="year-dek-", state="active").values_list("id", flat=True)[11]
    some = open_refs[0]
    return [
        Endpoint("home", ("/",)),
        Endpoint("page incidents (open)", ("/incidents/",)),
        Endpoint(
            "page incidents (all, page 1..100)", tuple(f"/incidents/?scope=all&page={p}" for p in (1, 2, 50, 100))
        ),
        Endpoint(
            "page incidents (filtered)",
            (
                "/incidents/?scope=all&severity=critical&step=closed&sort=-severity",
                "/incidents/?scope=all&opened_from=2026-01-01&opened_to=2026-06-30",
                f"/incidents/?scope=all&key=year-dek-{1234:07d}",
            ),
        ),
        Endpoint("page incident", incidents, INCIDENT_PAGE_TARGET_MS),
        Endpoint("page incident (live part)", tuple(p + "live" for p in incidents), INCIDENT_PAGE_TARGET_MS),
        Endpoint("page keys", ("/keys/", "/keys/?page=500", "/keys/?q=year-kek-")),
        Endpoint("page quarantine", ("/keys/quarantine/",)),
        Endpoint("page key", (f"/keys/{kek}/", f"/keys/{dek}/")),
        Endpoint("page approvals", ("/approvals/", "/approvals/?recent_page=300")),
        Endpoint("page regulatory due", ("/regulatory/due/",)),
        Endpoint("page case files", ("/case-files/", "/case-files/?page=100")),
        Endpoint("page inbox", ("/notifications/inbox/",)),
        Endpoint("api incidents", ("/api/v1/incidents/", "/api/v1/incidents/?status=closed&sort=-severity")),
        Endpoint("api incident", (f"/api/v1/incidents/{some}/",), INCIDENT_PAGE_TARGET_MS),
        Endpoint("api incident timeline", (f"/api/v1/incidents/{longest}/timeline",)),
        Endpoint("api keys", ("/api/v1/keys/", f"/api/v1/keys/?parent={kek}")),
        Endpoint("api quarantine", ("/api/v1/keys/quarantine/",)),
        Endpoint("api approvals", ("/api/v1/approvals/", "/api/v1/approvals/?scope=all")),
        Endpoint("api case files", ("/api/v1/case-files/",)),
        Endpoint("api parties", ("/api/v1/parties/",)),
    ]


class _Results:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)

    def add(self, name: str, seconds: float, error: str | None) -> None:
        with self.lock:
            if error is None:
                self.latencies[name].append(seconds * 1000)
            else:
                self.errors[name].append(error)


def _get(conn: http.client.HTTPConnection, path: str, cookie: str) -> tuple[float, str | None]:
    started = time.perf_counter()
    headers = {"Cookie": cookie, "Host": "localhost"} if cookie else {"Host": "localhost"}
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    return elapsed, None if response.status == 200 else f"{path}: HTTP {response.status}"


def _client(address: str, cookie: str, plan: list[tuple[str, str]], results: _Results, record: bool) -> None:
    host, port = address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        for name, path in plan:
            try:
                elapsed, error = _get(conn, path, "" if name == BASELINE else cookie)
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=60)
                elapsed, error = 0.0, f"{path}: {type(exc).__name__}: {exc}"
            if record:
                results.add(name, elapsed, error)
    finally:
        conn.close()


def _plans(endpoints: list[Endpoint], clients: int, rounds: int, seed: int) -> list[list[tuple[str, str]]]:
    rng = random.Random(seed)
    plans = []
    for _ in range(clients):
        plan = []
        for _ in range(rounds):
            order = [*endpoints, Endpoint(BASELINE, ("/login/",))]
            rng.shuffle(order)
            plan += [(e.name, rng.choice(e.paths)) for e in order]
        plans.append(plan)
    return plans


def _load(address: str, cookies: list[str], plans: list[list[tuple[str, str]]], *, record: bool) -> _Results:
    results = _Results()
    threads = [
        threading.Thread(target=_client, args=(address, cookie, plan, results, record))
        for cookie, plan in zip(cookies, plans, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def measure_http(out: IO[str], *, clients: int) -> bool:
    from django.db import connection

    endpoints = _endpoints()
    cookies = _session_cookies([f"bench-user-{n:02d}" for n in range(clients)])
    connection.close()
    ok = True
    with web_server() as address:
        out.write(f"  HTTP: {clients} concurrent signed-in clients, gunicorn as `make run` starts it, {address}\n")
        _load(address, cookies, _plans(endpoints, clients, WARM_UP_ROUNDS, 1), record=False)
        started = time.perf_counter()
        results = _load(address, cookies, _plans(endpoints, clients, ROUNDS, 2), record=True)
        wall = time.perf_counter() - started
    total = sum(len(v) for v in results.latencies.values())
    errors = sum(len(v) for v in results.errors.values())
    base = results.latencies.get(BASELINE) or [float("nan")]
    base_p95 = percentile(base, 95)
    out.write(
        f"  {total + errors} requests in {wall:.1f} s ({(total + errors) / wall:.0f}/s), {errors} errors; "
        f"baseline (sign-in page) p95 {base_p95:.0f} ms\n"
    )
    out.write(f"  {'':<6}{'endpoint':<38}{'n':>5}{'p50':>8}{'p95':>8}{'p99':>8}  target p95   vs baseline\n")
    for endpoint in endpoints:
        values = results.latencies.get(endpoint.name, [])
        failed = results.errors.get(endpoint.name, [])
        if not values:
            out.write(f"  [MISS] {endpoint.name:<37} no answer; {failed[:2]}\n")
            ok = False
            continue
        p50, p95, p99 = (percentile(values, q) for q in (50, 95, 99))
        met = p95 <= endpoint.target_ms and not failed
        ok &= met
        out.write(
            f"  [{'ok ' if met else 'MISS'}] {endpoint.name:<37}{len(values):>5}{p50:>8.0f}{p95:>8.0f}{p99:>8.0f}"
            f"  <= {endpoint.target_ms:>4.0f} ms  {p95 / base_p95:>8.1f}x"
            + (f"  {len(failed)} errors, e.g. {failed[0]}" if failed else "")
            + "\n"
        )
    if errors:
        ok = False
    out.flush()
    return ok
