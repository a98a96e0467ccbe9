"""Drills: the real playbook run on canary keys made for the exercise. The gate really refuses the canary
to encrypt (probed and recorded), approvals are really collected, notifications go only to parties marked
as exercise recipients, regulatory clocks are computed but never filed, and the incident is an exercise
(``EXR-…``) on every page, mail, audit event and case file. Tabletop exercises are recorded too."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.actors import Actor
from audit.services import audit_record
from evaluation.errors import DrillInvalid
from evaluation.models import Drill, TabletopExercise
from evaluation.services import metrics
from incidents.cloudevents import CompromiseEvent, KeyReference
from incidents.models import Incident, Severity
from incidents.senders import Sender
from incidents.services.signals import signal_receive
from keyvault.errors import KeyNotUsableForEncryption
from keyvault.models import DataAsset, System
from keyvault.services import gate, lifecycle
from keyvault.services.wrapped_items import ItemToRegister, wrapped_items_register
from keyvault.types import Principal

CANARY_SYSTEM = "exercise-canary"
CANARY_ASSET = "exercise-canary-records"
CANARY_ITEMS = 5
SCENARIO = "A KEK and the AI prompt-store key it wraps are reported leaked by a secret scanner."


def _canary_estate() -> tuple[System, DataAsset]:
    """The drill's own system and data: one (synthetic) EU personal-data record, so clocks are computed."""
    system, _ = System.objects.get_or_create(
        name=CANARY_SYSTEM, defaults={"owner": "incident response", "description": "drills only: no real data"}
    )
    asset, _ = DataAsset.objects.get_or_create(
        name=CANARY_ASSET,
        defaults={
            "system": system,
            "data_categories": ["personal_data"],
            "record_count": 1,
            "jurisdictions": ["EU"],
            "encrypted": True,
        },
    )
    return system, asset


def _gate_probe(key_id: Any, actor: Actor) -> tuple[bool, str]:
    """Ask the gate to encrypt with the contained canary, as an application would: it must refuse."""
    probe = Principal(actor=actor, rewrap_job="drill-gate-probe")
    try:
        gate.gate_encrypt(key_id=key_id, items=[gate.EncryptItem(b"drill probe")], principal=probe)
    except KeyNotUsableForEncryption as refused:
        return True, f"refused: {refused.code}"
    return False, "the gate ENCRYPTED with a contained canary key"


@transaction.atomic  # all of it or nothing: a retried scheduled start finds a whole drill or none
def drill_start(
    *,
    actor: Actor,
    via: str,
    started_by: str,
    severity: str = Severity.HIGH,
    commander: Any = None,
    key: str | None = None,
) -> Drill:
    """Make canary keys, report them compromised through the real signal path (the incident's workflow
    starts through the outbox), and probe the gate. Everything is recorded on the audit trail. ``key``
    makes a retried start (a scheduled run's activity) return the drill it already made."""
    if key is not None:
        existing = Drill.objects.filter(key=key).first()
        if existing is not None:
            return existing
    if via not in Drill.Via.values:
        raise DrillInvalid(f"a drill starts from {', '.join(Drill.Via.values)}")
    if severity not in Severity.values:
        raise DrillInvalid(f"severity is one of {', '.join(Severity.values)}")
    tag = uuid.uuid4().hex[:8]
    system, asset = _canary_estate()
    kek = lifecycle.key_create(
        actor=actor,
        alias=f"drill-kek-{tag}",
        purpose="drill canary: wraps the canary data key",
        system_ids=[system.id],
        exercise=True,
    )
    dek = lifecycle.key_create(
        actor=actor,
        alias=f"drill-prompts-{tag}",
        purpose="drill canary: prompt store",
        ai_category="prompt_store",
        parent_id=kek.id,
        system_ids=[system.id],
        data_asset_ids=[asset.id],
        exercise=True,
    )
    seeding = Principal(actor=actor, rewrap_job="drill-seed")
    sealed = gate.gate_encrypt(
        key_id=kek.id,
        items=[gate.EncryptItem(uuid.uuid4().bytes * 2) for _ in range(CANARY_ITEMS)],
        principal=seeding,
    )
    wrapped_items_register(
        key_id=kek.id,
        items=[ItemToRegister(f"drill-{tag}-{i}", blob, data_asset_id=asset.id) for i, blob in enumerate(sealed)],
    )
    drill = Drill.objects.create(
        scenario=SCENARIO,
        severity=severity,
        started_via=via,
        started_by=started_by,
        canary_keys=[str(kek.id), str(dek.id)],
        key=key,
    )
    event = CompromiseEvent(
        id=f"drill-{drill.id}",
        source="sequester:drill",
        type="sequester.exercise.key_leaked",
        time=timezone.now(),
        keys=[KeyReference("id", str(kek.id))],
        severity=severity,
        evidence={"drill": str(drill.id), "scenario": SCENARIO},
        title=f"[EXERCISE] Drill: canary key compromise ({tag})",
    )
    # The drill's signal is Sequester's own (its source, sequester:drill, is the server's), whoever started it.
    drill_sender = Sender.of_actor(Actor.system("drill"))
    result = signal_receive(
        event=event, via="drill", actor=actor, commander=commander, exercise=True, sender=drill_sender
    )
    refused, detail = _gate_probe(dek.id, actor)
    Drill.objects.filter(pk=drill.pk).update(incident=result.incident, gate_refused=refused, gate_detail=detail)
    audit_record(
        action="drill.started",
        actor=actor,
        subject_type="drill",
        subject_id=drill.id,
        reason=SCENARIO,
        incident=result.incident.reference,
        data={"via": via, "severity": severity, "canary_keys": drill.canary_keys, "exercise": True},
    )
    audit_record(
        action="drill.gate_probe",
        actor=actor,
        subject_type="key",
        subject_id=dek.id,
        reason=detail,
        incident=result.incident.reference,
        affected_system=CANARY_SYSTEM,
        data={"refused": refused, "exercise": True},
    )
    drill.refresh_from_db()
    return drill


def drill_scorecard(drill: Drill, *, now: Any = None) -> dict[str, Any]:
    """The drill against the targets (from its incident's recorded events), and the checks only a drill
    makes: the gate refused the canary, notifications reached exercise recipients only, nothing was filed."""
    if drill.scorecard:
        return dict(drill.scorecard)
    incident = drill.incident
    if incident is None:
        return {"status": "not started", "figures": [], "checks": []}
    measured = metrics.incident_metrics(incident, now=now or timezone.now())
    from notifications.models import Notification
    from regulatory.models import Filing, Obligation

    told = list(Notification.objects.filter(incident=incident).select_related("party"))
    checks = [
        {
            "check": "the gate refused the contained canary to encrypt",
            "passed": bool(drill.gate_refused),
            "detail": drill.gate_detail,
        },
        {
            "check": "notifications only to exercise recipients",
            "passed": all(n.party.exercise_recipient for n in told),
            "detail": f"{len(told)} drafted: " + ", ".join(sorted({n.party.name for n in told})),
        },
        {
            "check": "regulatory clocks computed, nothing filed",
            "passed": not Filing.objects.filter(obligation__incident=incident).exists(),
            "detail": f"{Obligation.objects.filter(incident=incident, status='required').count()} required",
        },
    ]
    figures = measured.as_dict()["figures"]
    card = {
        "status": "finished" if incident.status == Incident.Status.CLOSED else "running",
        "incident": incident.reference,
        "figures": figures,
        "met": sum(1 for f in figures if f["status"] == metrics.MET),
        "missed": sum(1 for f in figures if f["status"] == metrics.MISSED),
        "checks": checks,
        "scored_at": timezone.now().isoformat(),
    }
    if incident.status == Incident.Status.CLOSED:  # final: frozen as it stood at the first look after closing
        Drill.objects.filter(pk=drill.pk, scorecard={}).update(scorecard=card)
    return card


@transaction.atomic
def tabletop_record(
    *, held_on: date, scenario: str, participants: str, findings: str, actor: Actor
) -> TabletopExercise:
    if not (scenario.strip() and participants.strip() and findings.strip()):
        raise DrillInvalid("a tabletop exercise records its scenario, its participants and its findings")
    if held_on > timezone.localdate():
        raise DrillInvalid("a tabletop exercise is recorded after it was held")
    exercise = TabletopExercise.objects.create(
        held_on=held_on,
        scenario=scenario.strip(),
        participants=participants.strip(),
        findings=findings.strip(),
        recorded_by=actor.name,
    )
    audit_record(
        action="drill.tabletop_recorded",
        actor=actor,
        subject_type="tabletop",
        subject_id=exercise.pk,
        reason=scenario.strip()[:300],
        data={"held_on": held_on.isoformat(), "participants": participants.strip()[:500]},
    )
    return exercise
