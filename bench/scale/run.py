"""Seed once (reused between runs), then measure the pages and lists over HTTP, then the audit chain."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from typing import IO
from urllib.parse import urlsplit, urlunsplit

from bench.scale import ROOT
from bench.scale.seed import Scale

SCALES = {
    "full": Scale(incidents=10_000, keys=100_000, events=1_000_000, approvals=50_000),
    "small": Scale(incidents=1_000, keys=10_000, events=100_000, approvals=5_000),
}
CLIENTS = 20
MARKER_TABLE = "bench_scale_seed"


def _scale() -> tuple[str, Scale]:
    name = os.environ.get("SEQUESTER_BENCH_SCALE", "full")
    if name not in SCALES:
        raise SystemExit(f"SEQUESTER_BENCH_SCALE must be one of {', '.join(SCALES)}")
    return name, SCALES[name]


def _ensure_database(url: str, *, fresh: bool) -> None:
    """Create the bench's database when it is missing (or drop it first when ``fresh``)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = False
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _seeded(label: str) -> float | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (label text PRIMARY KEY, seconds float NOT NULL)")
        cursor.execute(f"SELECT seconds FROM {MARKER_TABLE} WHERE label = %s", [label])  # noqa: S608 - a constant
        row = cursor.fetchone()
    return float(row[0]) if row else None


def _mark_seeded(label: str, seconds: float) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {MARKER_TABLE} (label, seconds) VALUES (%s, %s)", [label, seconds])  # noqa: S608


def seed_year(scale: Scale, out: IO[str]) -> None:
    """The year's data with the product's bulk paths; each step timed."""
    from bench.scale import seed
    from webapp import roles

    rng = random.Random(2026)
    step_started = started = time.perf_counter()

    def step(what: str) -> None:
        nonlocal step_started
        now = time.perf_counter()
        out.write(f"    {what:<52} {now - step_started:7.1f} s\n")
        out.flush()
        step_started = now

    users = seed.seed_people(
        {f"bench-user-{n:02d}": (roles.COMMANDER, roles.SECURITY_LEAD, roles.AUDITOR) for n in range(CLIENTS)}
        | {f"bench-approver-{n}": (roles.SECURITY_LEAD, roles.CISO) for n in range(3)}
    )
    people = [u for name, u in users.items() if name.startswith("bench-user-")]
    approvers = [u for name, u in users.items() if name.startswith("bench-approver-")]
    keys = seed.seed_keys(scale.keys, tag="year", keys_per_kek=scale.keys_per_kek, custodian=people[0])
    step(f"{scale.keys:,} keys ({scale.keys // scale.keys_per_kek:,} KEKs, real material)")
    incidents = seed.seed_incidents(scale.incidents, tag="year", keys=keys, commanders=people, rng=rng)
    step(f"{scale.incidents:,} incidents with their keys")
    seed.seed_parties_and_inbox(incidents, tag="year", members=people)
    step("parties, notifications, inbox deliveries")
    seed.seed_obligations(incidents)
    step("regulatory obligations of open incidents")
    seed.seed_casefiles(incidents, requested_by=people[0])
    step("case-file exports")
    seed.seed_approvals(scale.approvals, incidents=incidents, requesters=people, approvers=approvers, rng=rng)
    step(f"{scale.approvals:,} approval requests with decisions")
    big = incidents[0]  # one long investigation: a tenth of the events
    seed.seed_audit(scale.events // 10, incidents=[big], keys=keys[:100])
    seed.seed_audit(scale.events - scale.events // 10, incidents=incidents, keys=keys)
    step(f"{scale.events:,} audit events (hash chain)")
    out.write(f"    {'seeded in':<52} {time.perf_counter() - started:7.1f} s\n")


def run(out: IO[str]) -> int:
    from django.core.management import call_command
    from django.db import connection

    name, scale = _scale()
    url = os.environ["DATABASE_URL"]
    _ensure_database(url, fresh=os.environ.get("SEQUESTER_BENCH_SCALE_RESEED") == "1")
    connection.close()
    signal.signal(signal.SIGTERM, _stop)  # a stopped bench still stops the server it started
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # as `make run` prepares it
    label = f"{name}: {scale.label}"
    out.write(f"database {urlsplit(url).path.lstrip('/')}, scale {label}\n")
    seconds = _seeded(label)
    if seconds is None:
        if _seeded_anything():
            raise SystemExit("the bench database holds another or a partial seed: SEQUESTER_BENCH_SCALE_RESEED=1")
        out.write("  seeding (once; later runs reuse it)\n")
        started = time.perf_counter()
        seed_year(scale, out)
        seconds = time.perf_counter() - started
        _mark_seeded(label, seconds)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    else:
        out.write(f"  reusing the seed (made in {seconds:.0f} s)\n")
    connection.close()
    parts = os.environ.get("SEQUESTER_BENCH_SCALE_PARTS", "http,audit").split(",")
    ok = True
    if "http" in parts:
        from bench.scale.http import measure_http

        ok &= measure_http(out, clients=CLIENTS)
    if "audit" in parts:
        from bench.scale.audit import measure_audit

        ok &= measure_audit(out)
    return 0 if ok else 1


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def _seeded_anything() -> bool:
    from incidents.models import Incident

    return Incident.objects.filter(reference__startswith="INC-year-").exists()


def manage(*args: str, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
    """A manage.py command in a process of its own, with the bench's environment."""
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
