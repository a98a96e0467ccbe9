"""bench/casefile: a case with 10,000 audit events exported to a signed PDF/A case file, beside a naive
baseline (the same events as one WeasyPrint table), each in a fresh process of its own so that its
peak memory is its own. Targets: ≤ 20 s and ≤ 500 MB peak (see README, "Benchmarks")."""

from __future__ import annotations

import os
import sys


def main() -> int:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from bench.casefile.run import run

    return run(sys.stdout)
