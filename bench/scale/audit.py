"""``audit_verify`` (the database's chain) and ``audit_export`` (the whole chain as a bundle) over a big chain:
time and peak memory of each, in a process of its own. Constant memory means the peak does not grow with the
chain: compare the figures at 1 and 10 million events (SEQUESTER_BENCH_SCALE_10M=1 adds a database of
10 million events, made once from the seeded one and reused)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

from bench.scale import ROOT

TEN_MILLION = 10_000_000
PEAK_TARGET_MB = 300.0  # what a streaming command needs, whatever the chain's length


@dataclass(frozen=True, slots=True)
class Measured:
    seconds: float
    peak_mb: float
    code: int
    tail: str


def _measured(args: list[str], env: dict[str, str]) -> Measured:
    """Run ``manage.py args`` and read its own peak resident memory (wait4 gives the child's rusage)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    return Measured(elapsed, usage.ru_maxrss / 1024, process.returncode, output.decode(errors="replace")[-300:])


def _events(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT max(seq) FROM audit_auditevent").fetchone()
    return int(row[0] or 0) if row else 0


def _ten_million(url: str, out: IO[str]) -> str:
    """A copy of the seeded database grown to 10 million events (made once, then reused)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    big = f"{name}_10m"
    big_url = urlunsplit(parts._replace(path=f"/{big}"))
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (big,)).fetchone() is not None
        if not exists:
            out.write(f"    copying {name} to {big} (once)\n")
            conn.execute(f'CREATE DATABASE "{big}" TEMPLATE "{name}"')
    have = _events(big_url)
    if have < TEN_MILLION:
        out.write(f"    appending {TEN_MILLION - have:,} events to {big} (once; resumable)\n")
        out.flush()
        started = time.perf_counter()
        grown = subprocess.run(
            [sys.executable, "-m", "bench.scale.grow_chain", str(TEN_MILLION)],
            env=os.environ | {"SEQUESTER_BENCH_SCALE_DATABASE_URL": big_url},
            cwd=ROOT,
            check=False,
        )
        if grown.returncode:
            raise RuntimeError("growing the chain to 10 million events failed")
        out.write(f"    appended in {time.perf_counter() - started:.0f} s\n")
    return big_url


def _measure_at(url: str, out: IO[str]) -> bool:
    env = os.environ | {"DATABASE_URL": url}
    events = _events(url)
    ok = True
    verify = _measured(["audit_verify"], env)
    verified = verify.code == 0 and "VERIFIED" in verify.tail
    ok &= verified and verify.peak_mb <= PEAK_TARGET_MB
    out.write(
        f"  [{'ok ' if verified and verify.peak_mb <= PEAK_TARGET_MB else 'MISS'}] audit_verify, {events:>11,} events: "
        f"{verify.seconds:7.1f} s ({events / verify.seconds:,.0f} events/s), peak {verify.peak_mb:5.0f} MB"
        + ("" if verified else f"  NOT VERIFIED: {verify.tail!r}")
        + "\n"
    )
    out.flush()
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "chain.json"
        export = _measured(["audit_export", "-o", str(bundle)], env)
        size = bundle.stat().st_size if bundle.exists() else 0
    exported = export.code == 0
    ok &= exported and export.peak_mb <= PEAK_TARGET_MB
    out.write(
        f"  [{'ok ' if exported and export.peak_mb <= PEAK_TARGET_MB else 'MISS'}] audit_export (whole chain), "
        f"{events:>11,} events: {export.seconds:7.1f} s, peak {export.peak_mb:5.0f} MB, bundle {size / 1e9:.2f} GB"
        + ("" if exported else f"  FAILED: {export.tail!r}")
        + "\n"
    )
    out.flush()
    return ok


def measure_audit(out: IO[str]) -> bool:
    url = os.environ["DATABASE_URL"]
    out.write(f"  audit chain: each command in a process of its own (peak RSS target <= {PEAK_TARGET_MB:.0f} MB)\n")
    ok = _measure_at(url, out)
    if os.environ.get("SEQUESTER_BENCH_SCALE_10M") == "1":
        ok &= _measure_at(_ten_million(url, out), out)
    else:
        out.write("  (10 million events: SEQUESTER_BENCH_SCALE_10M=1)\n")
    return ok
