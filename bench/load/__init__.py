"""bench/load: 200 signals a minute while 20 clients encrypt without pause, against the stack as
``make run`` serves it (gunicorn, Celery, the Temporal worker and dev server) on a scratch PostgreSQL
database. Targets: no error on either side, signal p99 <= 1 s."""

from __future__ import annotations

import os
import sys


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from bench.load.run import run

    return run(sys.stdout)
