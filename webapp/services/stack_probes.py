"""Stack probes: a row that a real Celery worker or Temporal activity writes, to prove a round trip."""

from __future__ import annotations

from webapp.models import StackProbe


def stack_probe_record(*, probe_id: str, via: str, worker: str) -> StackProbe:
    """Record a probe once per route; a retried delivery returns the row already written."""
    if via not in StackProbe.Via.values:
        raise ValueError(f"unknown probe route {via!r}")
    probe, _ = StackProbe.objects.get_or_create(probe_id=probe_id, via=via, defaults={"worker": worker})
    return probe
