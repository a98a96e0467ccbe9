"""Make a closed case with 10,000 audit events on a scratch database, then export it in alternating rounds
beside the plain baseline (the events as bare lines, the machine's speed in the same run); with
``BENCH_CASEFILE_NAIVE=1`` also the naive one-table layout (minutes: stopped after 15)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import IO, Any

from django.db import connection
from django.test.utils import setup_databases, setup_test_environment, teardown_databases

EVENTS = 10_000
TARGET_SECONDS = 10.0
TARGET_PEAK_MB = 300.0
ROUNDS = int(os.environ.get("BENCH_CASEFILE_ROUNDS", "5"))
NAIVE_TIMEOUT_SECONDS = 900.0  # the naive layout grows worse than linearly: past this, a lower bound


def _people() -> tuple[dict[str, Any], dict[str, Any]]:
    from django.contrib.auth.models import Group, User

    from tests.approvals.conftest import register
    from tests.conftest import PASSWORD
    from webapp import roles

    people = {}
    for slug in (roles.COMMANDER, roles.SECURITY_LEAD, roles.KEY_CUSTODIAN, roles.LEGAL_DPO, roles.CISO):
        user = User.objects.create_user(username=f"bench-{slug}", email=f"{slug}@example.test", password=PASSWORD)
        user.groups.add(Group.objects.get(name=slug))
        people[slug] = user
    return people, {name: register(user) for name, user in people.items()}


def _case() -> tuple[str, int]:
    """The whole playbook through the services, then forensic decrypt uses up to EVENTS events."""
    from audit.models import AuditEvent
    from incidents.services.scopes import incident_audit_scope
    from tests.casefile.scenario import add_controlled_uses, run_case

    incident = run_case(*_people())
    scope = incident_audit_scope(incident.reference)
    played = AuditEvent.objects.filter(scope.filter()).count()
    add_controlled_uses(incident, EVENTS - played)
    return incident.reference, played


def _export(side: str, reference: str, *, timeout: float | None = None) -> dict[str, Any] | None:
    """The side's result, or None when it did not finish within ``timeout`` seconds."""
    environment = os.environ | {"SEQUESTER_BENCH_DATABASE_NAME": str(connection.settings_dict["NAME"])}
    try:
        finished = subprocess.run(
            [sys.executable, "-m", "bench.casefile.export", side, reference],
            env=environment,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None
    if finished.returncode != 0:
        raise RuntimeError(f"the {side} export failed:\n{finished.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(finished.stdout.strip().splitlines()[-1])
    return result


def _line(name: str, result: dict[str, Any]) -> str:
    return (
        f"      {name:<34} {result['events']:>6,} events  {result['pages']:>5,} pages  "
        f"{result['seconds']:7.1f} s  peak {result['peak_mb']:7.0f} MB\n"
    )


def _compile_bytecode() -> None:
    """As the image is built (``UV_COMPILE_BYTECODE=1``, ``compileall``): a fresh process then loads bytecode
    instead of compiling WeasyPrint, pyHanko and the project from source (seconds on this machine, where
    ``PYTHONDONTWRITEBYTECODE`` is set and the virtualenv holds no bytecode)."""
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", "-x", r"/\.venv/", str(root)], check=False)
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", sysconfig.get_paths()["purelib"]], check=False)


def _rounds(reference: str, out: IO[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """ROUNDS alternating rounds of the plain baseline and ours, each in a fresh process."""
    ours, plain = [], []
    for number in range(1, ROUNDS + 1):
        baseline = _export("plain", reference)
        result = _export("ours", reference)
        assert baseline is not None
        assert result is not None
        plain.append(baseline)
        ours.append(result)
        out.write(_line(f"round {number} plain baseline", baseline) + _line(f"round {number} ours", result))
        out.flush()
    return ours, plain


def _naive(reference: str, ours_seconds: float, out: IO[str]) -> None:
    naive = _export("naive", reference, timeout=NAIVE_TIMEOUT_SECONDS)
    if naive is None:
        out.write(f"      {'naive: one WeasyPrint table':<34} did not finish in {NAIVE_TIMEOUT_SECONDS:.0f} s\n")
        ratio = NAIVE_TIMEOUT_SECONDS / ours_seconds
        out.write(f"      vs the naive table: time ratio > {ratio:.0f}x (naive stopped)\n")
        return
    out.write(_line("naive: one WeasyPrint table", naive))
    out.write(f"      vs the naive table: time ratio {naive['seconds'] / ours_seconds:.1f}x\n")


def run(out: IO[str]) -> int:
    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        out.write(f"database: {connection.vendor}\n")
        reference, played = _case()
        connection.close()  # the exporting processes read it on their own connections
        out.write(f"  case {reference}: {played} events from the playbook, forensic uses up to {EVENTS:,}\n")
        _compile_bytecode()
        ours, plain = _rounds(reference, out)
        seconds = [r["seconds"] for r in ours]
        peaks = [r["peak_mb"] for r in ours]
        median_s, median_mb = statistics.median(seconds), statistics.median(peaks)
        ratio = statistics.median(p["seconds"] for p in plain) / median_s
        if os.environ.get("BENCH_CASEFILE_NAIVE"):
            _naive(reference, median_s, out)
        fast, small = median_s <= TARGET_SECONDS, median_mb <= TARGET_PEAK_MB
        out.write(
            f"  [{'ok ' if fast and small else 'MISS'}] case file of {ours[0]['events']:,} events, {ours[0]['pages']} "
            f"pages: median {median_s:.1f} s (min {min(seconds):.1f}, max {max(seconds):.1f}; target <= "
            f"{TARGET_SECONDS:.0f} s), peak median {median_mb:.0f} MB (min {min(peaks):.0f}, max {max(peaks):.0f}; "
            f"target <= {TARGET_PEAK_MB:.0f} MB); ratio plain baseline / ours {ratio:.2f} (median of {ROUNDS} "
            "alternating rounds)\n"
        )
        return 0 if fast and small else 1
    finally:
        connection.close()
        teardown_databases(old_config, verbosity=0)
