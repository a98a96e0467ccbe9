"""bench/scale: a year of a large organisation's data (10,000 incidents, 100,000 keys in hierarchies,
1 million audit events, 50,000 approvals), seeded once in bulk into a database of its own and reused; then
20 concurrent signed-in clients over HTTP against gunicorn as ``make run`` serves it, reporting p50/p95/p99
of every main page and list. Targets: p95 <= 150 ms for lists and pages, <= 300 ms for the incident page,
no error. Then ``audit_verify`` and the bundle export over the chain (time and peak memory).

Environment: SEQUESTER_BENCH_SCALE_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/sequester_bench_scale),
SEQUESTER_BENCH_SCALE=full|small (small: a tenth, for trying the bench), SEQUESTER_BENCH_SCALE_RESEED=1 (start over),
SEQUESTER_BENCH_SCALE_PARTS=http,audit (which parts to run).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/sequester_bench_scale"


def configure() -> None:
    """The settings ``make run`` serves with (development: generated secrets under a var/ of the bench's own)."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "webapp.settings.development"
    os.environ["DATABASE_URL"] = os.environ.get("SEQUESTER_BENCH_SCALE_DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("SEQUESTER_VAR_DIR", str(ROOT / "var" / "bench-scale"))
    os.environ.setdefault("SEQUESTER_LOG_LEVEL", "WARNING")
    os.environ.setdefault("TEMPORAL_ADDRESS", "127.0.0.1:1")  # no Temporal: pages must not need it


def main() -> int:
    configure()
    import django

    django.setup()
    from bench.scale.run import run

    return run(sys.stdout)
