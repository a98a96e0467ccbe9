"""bench/regulatory: the wall time of ``manage.py regulatory_assess FACTS.json`` (a fresh process, as a
script or a person calls it) against ``python -c "import django; django.setup()"`` under the same
settings: what any Django process pays before doing anything. Target: ratio ≤ 1.5 (see README,
"Benchmarks"). The two alternate, so that machine noise hits both alike; medians, with min and max."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FACTS = ROOT / "docs" / "examples" / "regulatory-eu-controller.json"
ROUNDS = int(os.environ.get("SEQUESTER_BENCH_CLI_ROUNDS", "7"))
SETTINGS = os.environ.get("SEQUESTER_BENCH_CLI_SETTINGS", "webapp.settings.development")
TARGET = 1.5


def _wall(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS}
    baseline_cmd = [sys.executable, "-c", "import django; django.setup()"]
    cli_cmd = [sys.executable, "manage.py", "regulatory_assess", str(FACTS), "--compact"]
    _wall(baseline_cmd, env)  # warm the file cache and the generated development secrets
    _wall(cli_cmd, env)
    baseline: list[float] = []
    cli: list[float] = []
    for _ in range(ROUNDS):
        baseline.append(_wall(baseline_cmd, env))
        cli.append(_wall(cli_cmd, env))
    ratio = statistics.median(cli) / statistics.median(baseline)
    mark = "ok " if ratio <= TARGET else "MISS"
    print(f"  settings {SETTINGS}, {ROUNDS} alternating rounds")
    for name, values in (("django.setup()", baseline), ("regulatory_assess", cli)):
        print(
            f"  {name:<20} median {statistics.median(values) * 1000:7.0f} ms"
            f"  min {min(values) * 1000:7.0f} ms  max {max(values) * 1000:7.0f} ms"
        )
    ratios = sorted(c / b for c, b in zip(cli, baseline, strict=True))
    print(
        f"  [{mark}] regulatory_assess / django.setup()  ratio {ratio:4.2f} of medians"
        f" (per round {ratios[0]:4.2f}-{ratios[-1]:4.2f}; target <= {TARGET})"
    )
    return 0 if ratio <= TARGET else 1
