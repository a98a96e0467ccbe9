"""Incidents: opening one (with containment), attaching to one, and the commander's actions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from audit.actors import Actor
from audit.services import audit_record
from incidents.errors import (
    ClosureBlocked,
    ExerciseMismatch,
    IncidentClosed,
    IncidentNotFound,
    InvalidIncidentAction,
)
from incidents.models import SEVERITY_RANK, Incident, IncidentCounter, IncidentKey, Severity
from incidents.services.closure import closure_validate_waivers
from incidents.services.ownership import incident_routing, incident_routing_record
from ir_workflows.incident.types import (
    ADD_KEYS_UPDATE,
    ADD_NOTE_UPDATE,
    ADVANCE_UPDATE,
    CHANGE_SEVERITY_UPDATE,
    INCIDENT_WORKFLOW,
    RECORD_AWARENESS_UPDATE,
    AddKeysUpdate,
    AdvanceUpdate,
    AwarenessUpdate,
    IncidentInput,
    NoteUpdate,
    SeverityUpdate,
)
from ir_workflows.outbox import outbox_start, outbox_update
from keyvault.errors import KeyNotFound
from keyvault.models import ManagedKey
from keyvault.services.lifecycle import key_retire, key_suspend

SYSTEM_USERNAME = "sequester"


def system_user() -> Any:
    """The account that opens requests on behalf of machines (no role: it can never approve)."""
    user, created = get_user_model().objects.get_or_create(
        username=SYSTEM_USERNAME, defaults={"first_name": "Sequester"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _next_reference(now: datetime, *, exercise: bool = False) -> str:
    """INC-YYYY-NNNN; an exercise is EXR-YYYY-NNNN (same sequence), so every page, mail and audit event
    that names it shows it is a drill."""
    counter, _ = IncidentCounter.objects.select_for_update().get_or_create(year=now.year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{'EXR' if exercise else 'INC'}-{now.year}-{counter.last:04d}"


def _check_exercise(keys: list[ManagedKey], exercise: bool) -> None:
    """A drill touches only canary keys made for it; a real incident never takes a canary in."""
    wrong = [key.alias for key in keys if key.exercise != exercise]
    if wrong:
        what = "production keys" if exercise else "canary keys of a drill"
        raise ExerciseMismatch(
            f"{'an exercise' if exercise else 'a real incident'} cannot hold {what}: {', '.join(wrong[:5])}",
            keys=wrong[:50],
        )


def incident_get(reference_or_id: str | UUID, *, lock: bool = False) -> Incident:
    queryset = Incident.objects.select_for_update() if lock else Incident.objects.all()
    incident = queryset.filter(reference=str(reference_or_id)).first()
    if incident is None:
        try:
            incident = queryset.filter(id=UUID(str(reference_or_id))).first()
        except ValueError:
            incident = None
    if incident is None:
        raise IncidentNotFound(f"no incident {reference_or_id}")
    return incident


def open_incident_for(keys: list[ManagedKey], *, exercise: bool = False) -> Incident | None:
    return (
        Incident.objects.select_for_update()
        .filter(status=Incident.Status.OPEN, incident_keys__key__in=keys, exercise=exercise)
        .order_by("opened_at")
        .first()
    )


@dataclass(frozen=True, slots=True)
class Containment:
    incident: Incident
    created: bool
    suspended: list[UUID]
    added: list[UUID]


def _link_and_contain(
    incident: Incident, keys: list[ManagedKey], *, actor: Actor, reason: str, via: str, new: bool = False
) -> tuple[list[UUID], list[UUID]]:
    """Suspend ``keys`` and every key they wrapped, and link them all to ``incident`` (``new``: it was
    created in this transaction and holds no key yet)."""
    root_ids = [key.id for key in keys]
    # The blast radius is the playbook's contain step (not the signal's transaction: keep it short).
    result = key_suspend(
        key_ids=root_ids, actor=actor, reason=reason, incident=incident.reference, with_blast_radius=False
    )
    linked: set[UUID] = (
        set() if new else set(IncidentKey.objects.filter(incident=incident).values_list("key_id", flat=True))
    )
    cascaded = set(result.key_ids) - set(root_ids)  # the suspension locked every wrapped key
    added = [key_id for key_id in dict.fromkeys([*root_ids, *sorted(cascaded)]) if key_id not in linked]
    _link(incident, added, cascaded=cascaded, via=via)
    if added and incident.blast_radius:
        incident.blast_radius = {}  # recomputed by the playbook's contain step with the new keys
        incident.save(update_fields=["blast_radius"])
    return result.suspended, added


def _link(incident: Incident, key_ids: list[UUID], *, cascaded: set[UUID], via: str) -> None:
    """One row per key (``via`` for the named ones, cascade for the rest), in one statement: on
    PostgreSQL straight from two arrays, without a model per row (a KEK may have wrapped 100,000 keys)."""
    if not key_ids:
        return
    if connection.vendor != "postgresql":
        IncidentKey.objects.bulk_create(
            IncidentKey(incident=incident, key_id=k, via=IncidentKey.Via.CASCADE if k in cascaded else via)
            for k in key_ids
        )
        return
    vias = [IncidentKey.Via.CASCADE.value if k in cascaded else via for k in key_ids]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {IncidentKey._meta.db_table} (incident_id, key_id, via, added_at)"  # noqa: S608 - our table
            " SELECT %s, key_id, via, %s FROM unnest(%s::uuid[], %s::varchar[]) AS t(key_id, via)",
            [incident.id, timezone.now(), key_ids, vias],
        )


@transaction.atomic(savepoint=False)  # inside the signal's transaction: all of it commits or none
def incident_open_or_attach(
    *,
    keys: list[ManagedKey],
    title: str,
    severity: str,
    actor: Actor,
    reason: str,
    commander: Any = None,
    detected_at: datetime | None = None,
    via: str = IncidentKey.Via.SIGNAL,
    exercise: bool = False,
    attach_to: Incident | None = None,
) -> Containment:
    """Contain ``keys`` now (same transaction as the caller's signal) and open an incident for them, or
    attach them to the open incident that already holds one of them (else to ``attach_to``, if it is
    open and of the same kind). The incident's workflow starts after commit through the outbox (so
    containment never waits for Temporal). A real signal naming a drill's canary is still contained
    (containment is never refused), in an incident of its own."""
    if exercise:
        _check_exercise(keys, exercise)
    existing = open_incident_for(keys, exercise=exercise)
    if existing is None and attach_to is not None and attach_to.exercise == exercise:
        existing = Incident.objects.select_for_update().filter(id=attach_to.id, status=Incident.Status.OPEN).first()
    if existing is not None:
        suspended, added = _link_and_contain(existing, keys, actor=actor, reason=reason, via=via)
        if SEVERITY_RANK[Severity(severity)] > SEVERITY_RANK[Severity(existing.severity)]:
            existing.severity = severity
            existing.save(update_fields=["severity"])
        if added:
            outbox_update(
                workflow_id=existing.workflow_id,
                update_name=ADD_KEYS_UPDATE,
                update_id=f"keys-{'-'.join(str(k)[:8] for k in added[:4])}-{len(added)}-{timezone.now().timestamp()}",
                payload=AddKeysUpdate(keys=[str(k) for k in added], by=actor.name, reason=reason),
            )
        return Containment(existing, False, suspended, added)
    now = timezone.now()
    reference = _next_reference(now, exercise=exercise)
    incident_id = uuid.uuid4()
    routing = incident_routing(commander)
    commander = routing.commander
    incident = Incident.objects.create(
        id=incident_id,
        exercise=exercise,
        reference=reference,
        title=title or f"Compromise of {', '.join(k.alias for k in keys[:3])}{'…' if len(keys) > 3 else ''}",
        severity=severity,
        commander=commander,
        opened_at=now,
        detected_at=detected_at or now,
        workflow_id=str(incident_id),  # the incident id is the workflow id
    )
    suspended, added = _link_and_contain(incident, keys, actor=actor, reason=reason, via=via, new=True)
    audit_record(
        action="incident.opened",
        actor=actor,
        subject_type="incident",
        subject_id=reference,
        reason=reason,
        incident=reference,
        data={
            "keys": [str(k.id) for k in keys],
            "severity": severity,
            "contained": len(suspended),
            "commander": commander.get_username() if commander else None,
        }
        | ({"exercise": True} if exercise else {}),
    )
    incident_routing_record(incident=incident, routing=routing, actor=actor)
    outbox_start(
        workflow_type=INCIDENT_WORKFLOW,
        workflow_id=incident.workflow_id,
        payload=IncidentInput(
            incident=reference,
            keys=[str(k.id) for k in keys],
            severity=severity,
            commander=commander.get_username() if commander else "",
        ),
    )
    return Containment(incident, True, suspended, added)


# --- the commander's actions: the database first, then an update to the workflow ------------------
def _open(reference: str) -> Incident:
    incident = incident_get(reference, lock=True)
    if incident.status != Incident.Status.OPEN:
        raise IncidentClosed(f"incident {incident.reference} is closed")
    return incident


def _tell_workflow(incident: Incident, name: str, payload: Any, update_id: str) -> None:
    outbox_update(workflow_id=incident.workflow_id, update_name=name, update_id=update_id, payload=payload)


@transaction.atomic
def incident_add_keys(*, reference: str, key_ids: list[UUID], actor: Actor, reason: str) -> list[UUID]:
    incident = _open(reference)
    keys = list(ManagedKey.objects.filter(id__in=key_ids))
    if len(keys) != len(set(key_ids)):
        raise InvalidIncidentAction("unknown key id")
    if incident.exercise:
        _check_exercise(keys, True)
    _suspended, added = _link_and_contain(incident, keys, actor=actor, reason=reason, via=IncidentKey.Via.COMMANDER)
    if added:
        _tell_workflow(
            incident,
            ADD_KEYS_UPDATE,
            AddKeysUpdate(keys=[str(k) for k in added], by=actor.name, reason=reason),
            f"add-{timezone.now().timestamp()}",
        )
    return added


@transaction.atomic
def incident_record_awareness(*, reference: str, aware_at: datetime, actor: Actor) -> Incident:
    incident = _open(reference)
    if aware_at > timezone.now():
        raise InvalidIncidentAction("the awareness time cannot be in the future")
    incident.aware_at = aware_at
    incident.save(update_fields=["aware_at"])
    audit_record(
        action="incident.aware_at_recorded",
        actor=actor,
        subject_type="incident",
        subject_id=incident.reference,
        incident=incident.reference,
        data={"aware_at": aware_at.isoformat()},
    )
    _tell_workflow(
        incident,
        RECORD_AWARENESS_UPDATE,
        AwarenessUpdate(aware_at=aware_at.isoformat(), by=actor.name),
        f"aware-{aware_at.timestamp()}",
    )
    return incident


@transaction.atomic
def incident_change_severity(*, reference: str, severity: str, actor: Actor, reason: str) -> Incident:
    incident = _open(reference)
    if severity not in Severity.values:
        raise InvalidIncidentAction(f"severity is one of {', '.join(Severity.values)}")
    previous, incident.severity = incident.severity, severity
    incident.save(update_fields=["severity"])
    audit_record(
        action="incident.severity_changed",
        actor=actor,
        subject_type="incident",
        subject_id=incident.reference,
        reason=reason,
        incident=incident.reference,
        data={"from": previous, "to": severity},
    )
    _tell_workflow(
        incident,
        CHANGE_SEVERITY_UPDATE,
        SeverityUpdate(severity=severity, by=actor.name),
        f"severity-{timezone.now().timestamp()}",
    )
    return incident


@transaction.atomic
def incident_add_note(*, reference: str, text: str, actor: Actor) -> None:
    incident = _open(reference)
    if not text.strip():
        raise InvalidIncidentAction("a note needs text")
    audit_record(
        action="incident.note",
        actor=actor,
        subject_type="incident",
        subject_id=incident.reference,
        reason=text.strip()[:4000],
        incident=incident.reference,
    )
    _tell_workflow(
        incident, ADD_NOTE_UPDATE, NoteUpdate(text=text.strip()[:4000], by=actor.name), f"note-{uuid.uuid4()}"
    )


def incident_advance(
    *, reference: str, action: str, choice: str, actor: Actor, waivers: dict[str, str] | None = None
) -> None:
    """A manual step: request closure (choice: keep_decrypt_only or destroy), or retry a failed step.
    Closure is refused (``closure_open_items``) while an open item is neither done nor waived in
    ``waivers`` (check name → reason); the refusal is recorded with the items (outside the refused
    transaction, so that it stays). The request records the open items and the waivers, which the
    ``close_incident`` approval then carries for its approvers to sign."""
    try:
        _advance(reference=reference, action=action, choice=choice, actor=actor, waivers=waivers)
    except ClosureBlocked as refused:
        audit_record(
            action="incident.close_refused",
            actor=actor,
            subject_type="incident",
            subject_id=reference,
            reason=str(refused)[:1500],
            incident=reference,
            data={"items": list(refused.details.get("open_items", []))[:50]},
        )
        raise


@transaction.atomic
def _advance(*, reference: str, action: str, choice: str, actor: Actor, waivers: dict[str, str] | None) -> None:
    incident = _open(reference)
    if action not in ("request_close", "retry"):
        raise InvalidIncidentAction("advance with request_close or retry")
    data: dict[str, Any] = {"choice": choice}
    if action == "request_close":
        if choice not in ("keep_decrypt_only", "destroy"):
            raise InvalidIncidentAction("closing keeps the keys decrypt-only or destroys them")
        recorded = closure_validate_waivers(incident, waivers)
        incident.closure_request = {
            "choice": choice,
            "by": actor.name,
            "at": timezone.now().isoformat(),
            **recorded,
        }
        incident.save(update_fields=["closure_request"])
        data |= recorded
    audit_record(
        action=f"incident.{action}",
        actor=actor,
        subject_type="incident",
        subject_id=incident.reference,
        incident=incident.reference,
        reason="; ".join(f"{check} waived: {why}" for check, why in data.get("waivers", {}).items()),
        data=data,
    )
    _tell_workflow(
        incident,
        ADVANCE_UPDATE,
        AdvanceUpdate(action=action, choice=choice, by=actor.name),
        f"advance-{action}-{timezone.now().timestamp()}",
    )


@transaction.atomic
def incident_key_retire(*, reference: str, key_id: UUID, actor: Actor, reason: str) -> ManagedKey:
    """The commander decides that one of the incident's keys gets no replacement, and says why; the
    playbook then skips it when it replaces the others (every other compromised key is replaced)."""
    incident = incident_get(reference)
    if not IncidentKey.objects.filter(incident=incident, key_id=key_id).exists():
        raise KeyNotFound(f"key {key_id} is not part of {incident.reference}")
    return key_retire(key_id=key_id, actor=actor, reason=reason, incident=incident.reference)
