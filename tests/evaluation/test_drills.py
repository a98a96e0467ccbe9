"""Drills on demand: canary keys only, the gate probe, the command and the commander's button, tabletop
records; an exercise never holds production keys, and canaries never reach the public key-status feed."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.test import Client

from audit.models import AuditEvent
from evaluation.errors import DrillInvalid
from evaluation.models import Drill, TabletopExercise
from evaluation.services import drills
from incidents.errors import ExerciseMismatch
from incidents.services.incidents import incident_add_keys
from keyvault.services import lifecycle
from notifications.feed import key_status_feed
from tests.approvals.conftest import actor
from tests.evaluation.conftest import SYSTEM, open_incident
from webapp import roles

pytestmark = pytest.mark.django_db


def test_run_drill_makes_canaries_and_an_exercise_incident():
    out = io.StringIO()
    call_command("run_drill", "--severity", "medium", stdout=out)
    drill = Drill.objects.get()
    assert drill.incident is not None
    assert drill.incident.reference.startswith("EXR-")
    assert drill.incident.exercise
    assert drill.gate_refused is True
    assert "refused" in out.getvalue()
    assert AuditEvent.objects.filter(action="drill.gate_probe", data__refused=True).exists()
    listed = {f for k in key_status_feed().document["feed"]["keys"] for f in k["fingerprints"]}
    from keyvault.models import KeyVersion

    canaries = set(KeyVersion.objects.filter(key_id__in=drill.canary_keys).values_list("fingerprint", flat=True))
    assert not (listed & canaries)  # drills stay off the public feed


def test_an_exercise_never_holds_production_keys_and_vice_versa(people):
    drill = drills.drill_start(actor=SYSTEM, via="cli", started_by="t")
    assert drill.incident is not None
    production = lifecycle.key_create(actor=SYSTEM, alias="prod", purpose="p")
    with pytest.raises(ExerciseMismatch):
        incident_add_keys(
            reference=drill.incident.reference,
            key_ids=[production.id],
            actor=actor(people[roles.COMMANDER]),
            reason="x",
        )
    real = open_incident(people[roles.COMMANDER], alias="real")
    assert not real.exercise
    assert real.reference.startswith("INC-")


def test_the_commander_starts_a_drill_and_records_a_tabletop(people):
    client = Client()
    client.force_login(people[roles.COMMANDER])
    response = client.post("/drills/start", {"severity": "high"})
    assert response.status_code == 302
    drill = Drill.objects.get()
    assert drill.started_via == "ui"
    assert drill.incident is not None
    assert response["Location"] == f"/incidents/{drill.incident.reference}/"
    client.post(
        "/drills/tabletop",
        {"held_on": "2026-10-01", "scenario": "HSM vendor breach", "participants": "cmdr, lead", "findings": "ok"},
    )
    assert TabletopExercise.objects.get().scenario == "HSM vendor breach"
    page = client.get("/drills/").content.decode()
    assert drill.incident.reference in page
    assert "HSM vendor breach" in page
    auditor = Client()
    auditor.force_login(people[roles.AUDITOR])
    assert auditor.post("/drills/start").status_code == 403


def test_a_tabletop_needs_its_parts_and_a_past_date():
    with pytest.raises(DrillInvalid):
        drills.tabletop_record(held_on=date.today(), scenario="", participants="a", findings="b", actor=SYSTEM)
    with pytest.raises(DrillInvalid):
        drills.tabletop_record(
            held_on=date.today() + timedelta(days=2), scenario="s", participants="a", findings="b", actor=SYSTEM
        )
