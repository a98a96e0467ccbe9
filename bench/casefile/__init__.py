"""bench/casefile: a case with 10,000 audit events exported to a signed PDF/A case file, beside a plain
baseline (the same events as bare lines laid out by WeasyPrint), each in a fresh process of its own so
that its peak memory is its own. Targets: ≤ 10 s and ≤ 300 MB peak (see README, "Benchmarks")."""

from __future__ import annotations

import os
import sys


def main() -> int:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from bench.casefile.run import run

    return run(sys.stdout)
