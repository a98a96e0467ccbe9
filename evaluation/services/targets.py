"""Response-time targets per severity, stored as data (seeded once, changed by the control's owners,
every change audited)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.actors import Actor
from audit.services import audit_record
from evaluation.errors import TargetInvalid
from evaluation.models import Measure, ResponseTarget
from incidents.models import Severity

MINUTE, HOUR, DAY = 60, 3600, 86400
# (critical, high, medium, low) seconds for each measure: the shipped defaults, installed once.
DEFAULT_TARGETS: dict[str, tuple[int, int, int, int]] = {
    Measure.CONTAIN: (MINUTE, MINUTE, 5 * MINUTE, 15 * MINUTE),
    Measure.CONFIRM: (HOUR, 4 * HOUR, DAY, 3 * DAY),
    Measure.RESTRICT: (2 * HOUR, 8 * HOUR, 2 * DAY, 7 * DAY),
    Measure.REWRAP: (DAY, 2 * DAY, 7 * DAY, 14 * DAY),
    Measure.NOTIFY: (4 * HOUR, DAY, 3 * DAY, 7 * DAY),
    Measure.ACKNOWLEDGE: (4 * HOUR, DAY, 2 * DAY, 7 * DAY),
    Measure.DECIDE: (HOUR, 4 * HOUR, DAY, 3 * DAY),
}
SEVERITIES = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW)


def targets_sync_after_migrate(**_kwargs: Any) -> None:
    """Install the shipped default for every (measure, severity) that has none yet (never overwrites)."""
    for measure, values in DEFAULT_TARGETS.items():
        for severity, seconds in zip(SEVERITIES, values, strict=True):
            ResponseTarget.objects.get_or_create(
                severity=severity, measure=measure, defaults={"seconds": seconds, "updated_by": "sequester:defaults"}
            )


def targets_table() -> dict[tuple[str, str], int]:
    """(measure, severity) → seconds."""
    return {(t.measure, t.severity): t.seconds for t in ResponseTarget.objects.all()}


@transaction.atomic
def target_set(*, measure: str, severity: str, seconds: int, actor: Actor) -> ResponseTarget:
    if measure not in Measure.values or severity not in Severity.values:
        raise TargetInvalid(f"a target is for a measure ({', '.join(Measure.values)}) and a severity")
    if not 1 <= seconds <= 366 * DAY:
        raise TargetInvalid("a target is between 1 second and a year")
    target, _ = ResponseTarget.objects.select_for_update().get_or_create(
        measure=measure, severity=severity, defaults={"seconds": seconds}
    )
    previous = target.seconds
    target.seconds, target.updated_by, target.updated_at = seconds, actor.name, timezone.now()
    target.save()
    audit_record(
        action="target.changed",
        actor=actor,
        subject_type="target",
        subject_id=f"{measure}/{severity}",
        data={"from": previous, "to": seconds},
    )
    return target


def duration_text(seconds: float | None) -> str:
    """3 d 4 h, 2 h 5 min, 45 s: how a person reads a duration."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    days, rest = divmod(whole, DAY)
    hours, rest = divmod(rest, HOUR)
    minutes, secs = divmod(rest, MINUTE)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{seconds:.1f} s" if seconds < 10 else f"{secs} s"
