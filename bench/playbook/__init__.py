"""bench/playbook: signal POST → encrypt refused (1, 100, 10,000 keys under one KEK), and incidents per
second carried to the first approval gate vs a trivial one-activity workflow on the same server."""

from __future__ import annotations

import os
import sys


def main() -> int:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from bench.playbook.run import run

    return run(sys.stdout)
