"""Make a closed case with 10,000 audit events on a scratch database, then export it both ways."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import IO, Any

from django.db import connection
from django.test.utils import setup_databases, setup_test_environment, teardown_databases

EVENTS = 10_000
TARGET_SECONDS = 20.0
TARGET_PEAK_MB = 500.0
NAIVE_TIMEOUT_SECONDS = 900.0  # the naive layout grows worse than linearly: past this, a lower bound


def _people() -> tuple[dict[str, Any], dict[str, Any]]:
    from django.contrib.auth.models import Group, User

    from tests.approvals.conftest import register
    from webapp import roles

    people = {}
    for slug in (roles.COMMANDER, roles.SECURITY_LEAD, roles.KEY_CUSTODIAN, roles.LEGAL_DPO, roles.CISO):
        user = User.objects.create_user(username=f"bench-{slug}", email=f"{slug}@example.test")
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


def run(out: IO[str]) -> int:
    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        out.write(f"database: {connection.vendor}\n")
        reference, played = _case()
        connection.close()  # the exporting processes read it on their own connections
        out.write(f"  case {reference}: {played} events from the playbook, forensic uses up to {EVENTS:,}\n")
        ours = _export("ours", reference)
        assert ours is not None
        out.write(_line("ours: signed PDF/A-3b case file", ours))
        out.flush()  # the naive side takes minutes
        naive = _export("naive", reference, timeout=NAIVE_TIMEOUT_SECONDS)
        if naive is None:
            out.write(f"      {'naive: one WeasyPrint table':<34} did not finish in {NAIVE_TIMEOUT_SECONDS:.0f} s\n")
            ratios = f"time ratio > {NAIVE_TIMEOUT_SECONDS / ours['seconds']:.0f}x (naive stopped)"
        else:
            out.write(_line("naive: one WeasyPrint table", naive))
            ratios = (
                f"time ratio {naive['seconds'] / ours['seconds']:.1f}x, "
                f"memory ratio {naive['peak_mb'] / ours['peak_mb']:.1f}x"
            )
        fast, small = ours["seconds"] <= TARGET_SECONDS, ours["peak_mb"] <= TARGET_PEAK_MB
        out.write(
            f"  [{'ok ' if fast and small else 'MISS'}] case file of {ours['events']:,} events: "
            f"{ours['seconds']:.1f} s (target <= {TARGET_SECONDS:.0f} s), peak {ours['peak_mb']:.0f} MB "
            f"(target <= {TARGET_PEAK_MB:.0f} MB); vs the naive table: {ratios}\n"
        )
        return 0 if fast and small else 1
    finally:
        connection.close()
        teardown_databases(old_config, verbosity=0)
