"""Signal intake: check the sender owns the source, deduplicate per sender, resolve the keys, contain
them and open or attach an incident — one transaction, so the gate refuses the keys before the caller
gets its answer.

A duplicate (same sender, source and event id) changes nothing it already did, but it is no way to
smuggle a key past containment: keys it names that the first signal's incident does not hold and no
open incident holds are contained too (and it says so in the audit trail)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from audit.actors import Actor
from audit.services import audit_batch, audit_record
from incidents.cloudevents import CompromiseEvent
from incidents.errors import UnknownKey
from incidents.models import Incident, IncidentKey, Signal
from incidents.senders import Sender
from incidents.services.incidents import incident_open_or_attach
from incidents.services.resolve import keys_resolve
from incidents.services.sources import source_owner_check
from keyvault.models import ManagedKey


@dataclass(frozen=True, slots=True)
class SignalResult:
    signal: Signal
    incident: Incident
    duplicate: bool
    incident_created: bool
    suspended: list[str]
    unresolved: list[dict[str, str]]


def _existing(sender: Sender, event: CompromiseEvent) -> Signal | None:
    return (
        Signal.objects.select_related("incident")
        .filter(sender=sender.id, source=event.source, event_id=event.id)
        .first()
    )


def signal_receive(
    *,
    event: CompromiseEvent,
    via: str,
    actor: Actor,
    commander: Any = None,
    sender: Sender | None = None,
    exercise: bool = False,
) -> SignalResult:
    """Idempotent by (sender, source, event id): a repeated signal returns the first one's incident.
    ``sender`` defaults to the actor's principal (the server's own actor owns every source).
    ``exercise``: a drill's signal, which names only the canary keys made for it and opens an exercise
    incident."""
    sender = sender or Sender.of_actor(actor)
    source_owner_check(sender=sender, source=event.source)
    previous = _existing(sender, event)
    if previous is not None:
        return _duplicate(previous, event=event, actor=actor)
    try:
        return _receive(event=event, sender=sender, via=via, actor=actor, commander=commander, exercise=exercise)
    except IntegrityError:
        # The same event arrived twice at once: the other request stored it first.
        previous = _existing(sender, event)
        if previous is None:
            raise
        return _duplicate(previous, event=event, actor=actor)


def _not_yet_contained(keys: list[ManagedKey], previous: Signal) -> list[ManagedKey]:
    """Keys neither the first signal's incident nor any open incident holds. (A key the first incident
    held and that was restored since is not contained again: replaying an old signal is no way to
    suspend a key that a quorum declared a false positive.)"""
    held = set(
        IncidentKey.objects.filter(key__in=keys, incident__status=Incident.Status.OPEN).values_list("key_id", flat=True)
    ) | set(IncidentKey.objects.filter(incident=previous.incident, key__in=keys).values_list("key_id", flat=True))
    return [key for key in keys if key.id not in held]


def _duplicate(previous: Signal, *, event: CompromiseEvent, actor: Actor) -> SignalResult:
    keys, _unresolved = keys_resolve(event.keys)
    fresh = _not_yet_contained(keys, previous)
    if not fresh:
        return SignalResult(previous, previous.incident, True, False, [], list(previous.unresolved))
    with transaction.atomic(), audit_batch():
        reason = f"{event.type} from {event.source} (repeated event id {event.id}, naming keys not yet contained)"
        containment = incident_open_or_attach(
            keys=fresh,
            title=event.title,
            severity=event.severity,
            actor=actor,
            reason=reason,
            detected_at=event.time,
            attach_to=previous.incident,
            exercise=previous.incident.exercise,
        )
        audit_record(
            action="signal.duplicate_contained",
            actor=actor,
            subject_type="incident",
            subject_id=containment.incident.reference,
            reason=reason,
            incident=containment.incident.reference,
            data={
                "signal": str(previous.id),
                "sender": previous.sender,
                "source": event.source,
                "event_id": event.id,
                "keys": [str(k.id) for k in fresh],
                "key_references": [reference.as_dict() for reference in event.keys][:100],
            },
        )
    return SignalResult(
        signal=previous,
        incident=containment.incident,
        duplicate=True,
        incident_created=containment.created,
        suspended=[str(k) for k in containment.suspended],
        unresolved=list(previous.unresolved),
    )


@transaction.atomic
def _receive(
    *, event: CompromiseEvent, sender: Sender, via: str, actor: Actor, commander: Any, exercise: bool
) -> SignalResult:
    with audit_batch():  # every event of this signal is appended at the end: a short hold on the chain
        return _contain_and_record(
            event=event, sender=sender, via=via, actor=actor, commander=commander, exercise=exercise
        )


def _contain_and_record(
    *, event: CompromiseEvent, sender: Sender, via: str, actor: Actor, commander: Any, exercise: bool = False
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
    # A duplicate (sender, source, event id) fails here; the caller then returns the first signal's result.
    signal = Signal.objects.create(
        sender=sender.id,
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
            "sender": sender.id,
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
