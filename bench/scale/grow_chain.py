"""``python -m bench.scale.grow_chain N``: append events to the bench database's chain until it holds N
(through the chain's own bulk path; resumable: it counts what is there first)."""

from __future__ import annotations

import sys


def main(target: int) -> int:
    from bench.scale import configure

    configure()
    import django

    django.setup()
    from audit.models import AuditEvent
    from bench.scale import seed
    from incidents.models import Incident
    from keyvault.models import ManagedKey

    incidents = list(Incident.objects.filter(reference__startswith="INC-year-").only("reference")[:10_000])
    keys = list(ManagedKey.objects.only("id")[:10_000])
    have = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    step = 500_000
    while have < target:
        size = min(step, target - have)
        seed.seed_audit(size, incidents=incidents, keys=keys)
        have += size
        print(f"      {have:,} events", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
