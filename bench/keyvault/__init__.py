"""bench/keyvault: the gate's batch API, bulk rewrap, REST overhead and suspend-to-refusal latency.

Each figure is a ratio against a baseline measured in the same run (see README, "Benchmarks").
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from bench.keyvault.run import run

    return run(sys.stdout)
