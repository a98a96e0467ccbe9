"""Signal intake: deduplicate, resolve the keys, contain them and open or attach an incident — one
transaction, so the gate refuses the keys before the caller gets its answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from audit.actors import Actor
from audit.services import audit_batch, audit_record
from incidents.cloudevents import CompromiseEvent
from incidents.errors import UnknownKey
from incidents.models import Incident, Signal
from incidents.services.incidents import incident_open_or_attach
from incidents.services.resolve import keys_resolve


@dataclass(frozen=True, slots=True)
class SignalResult:
    signal: Signal
    incident: Incident
    duplicate: bool
    incident_created: bool
    suspended: list[str]
    unresolved: list[dict[str, str]]


def _existing(event: CompromiseEvent) -> Signal | None:
    return Signal.objects.select_related("incident").filter(source=event.source, event_id=event.id).first()


def signal_receive(
    *, event: CompromiseEvent, via: str, actor: Actor, commander: Any = None, exercise: bool = False
) -> SignalResult:
    """Idempotent by (source, event id): a repeated signal returns the first one's incident. ``exercise``:
    a drill's signal, which names only the canary keys made for it and opens an exercise incident."""
    previous = _existing(event)
    if previous is not None:
        return SignalResult(previous, previous.incident, True, False, [], list(previous.unresolved))
    try:
        return _receive(event=event, via=via, actor=actor, commander=commander, exercise=exercise)
    except IntegrityError:
        # The same event arrived twice at once: the other request stored it first.
        previous = _existing(event)
        if previous is None:
            raise
        return SignalResult(previous, previous.incident, True, False, [], list(previous.unresolved))


@transaction.atomic
def _receive(*, event: CompromiseEvent, via: str, actor: Actor, commander: Any, exercise: bool) -> SignalResult:
    with audit_batch():  # every event of this signal is appended at the end: a short hold on the chain
        return _contain_and_record(event=event, via=via, actor=actor, commander=commander, exercise=exercise)


def _contain_and_record(
    *, event: CompromiseEvent, via: str, actor: Actor, commander: Any, exercise: bool = False
) -> SignalResult:
    keys, unresolved = keys_resolve(event.keys)
    if not keys:
        raise UnknownKey(
            "no key named by the signal is managed here",
            unresolved=[reference.as_dict() for reference in unresolved],
        )
    reason = f"{event.type} from {event.source}" + (f": {event.title}" if event.title else "")
    containment = incident_open_or_attach(
        keys=keys,
        title=event.title,
        severity=event.severity,
        actor=actor,
        reason=reason,
        commander=commander,
        detected_at=event.time,
        exercise=exercise,
    )
    # A duplicate (source, event id) fails here; the caller then returns the first signal's result.
    signal = Signal.objects.create(
        source=event.source,
        event_id=event.id,
        type=event.type,
        received_via=via,
        severity=event.severity,
        occurred_at=event.time,
        key_references=[reference.as_dict() for reference in event.keys],
        unresolved=[reference.as_dict() for reference in unresolved],
        evidence=event.evidence,
        incident=containment.incident,
        reported_by=actor.name,
    )
    audit_record(
        action="signal.received",
        actor=actor,
        subject_type="incident",
        subject_id=containment.incident.reference,
        reason=reason,
        incident=containment.incident.reference,
        data={
            "signal": str(signal.id),
            "source": event.source,
            "event_id": event.id,
            "via": via,
            "keys": [str(k.id) for k in keys],
            "unresolved": signal.unresolved,
            "new_incident": containment.created,
        },
    )
    return SignalResult(
        signal=signal,
        incident=containment.incident,
        duplicate=False,
        incident_created=containment.created,
        suspended=[str(k) for k in containment.suspended],
        unresolved=signal.unresolved,
    )
