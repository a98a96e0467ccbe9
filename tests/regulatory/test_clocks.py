"""Clocks kept in step with assessments and filings (through the outbox), their notices, and the pure
clock states (due, at risk, overdue, filed on time or late)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.core import mail

from audit.actors import Actor
from audit.models import AuditEvent
from incidents.models import Incident
from ir_workflows.models import TemporalOutbox
from regulatory.clocks import clock_state
from regulatory.models import Filing, Obligation
from regulatory.selectors import incident_clocks
from regulatory.services.assessments import assessment_record
from regulatory.services.clocks import clock_notice_send
from tests.regulatory.conftest import hipaa_facts
from webapp import roles

LEGAL = Actor(name="legal", type="user")
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_clock_states():
    due = T0 + timedelta(hours=100)
    assert clock_state(status="required", due_at=due, trigger_at=T0, now=T0 + timedelta(hours=10)).state == "due"
    assert clock_state(status="required", due_at=due, trigger_at=T0, now=T0 + timedelta(hours=75)).state == "at_risk"
    assert clock_state(status="required", due_at=due, trigger_at=T0, now=T0 + timedelta(hours=101)).state == "overdue"
    assert clock_state(status="required", due_at=None, trigger_at=T0, now=T0).state == "tracked"
    assert clock_state(status="exempt", due_at=None, trigger_at=None, now=T0).state == "exempt"
    on_time = clock_state(status="required", due_at=due, trigger_at=T0, now=T0, filed_at=due - timedelta(hours=1))
    late = clock_state(status="required", due_at=due, trigger_at=T0, now=T0, filed_at=due + timedelta(seconds=1))
    assert (on_time.state, late.state) == ("filed_on_time", "filed_late")


def test_assessments_start_move_and_cancel_clocks(incident):
    facts = hipaa_facts(incident)
    assessment_record(incident=incident, facts=facts, actor=LEGAL)
    hipaa = Obligation.objects.get(incident=incident, rule_id="US-HIPAA-404")
    assert hipaa.clock_workflow_id == "obligation-clock-INC-2026-9001-US-HIPAA-404-g1"
    # the incident's workflow is running: each clock is asked of it, to start as its child
    starts = TemporalOutbox.objects.filter(workflow_type="ObligationClock")
    assert {(e.kind, e.parent_workflow_id, e.update_name) for e in starts} == {
        ("child", "wf-9001", "start_obligation_clock")
    }
    assert starts.get(workflow_id=hipaa.clock_workflow_id).payload["rule_id"] == "US-HIPAA-404"
    started = {e.workflow_id for e in starts}
    timed = Obligation.objects.filter(incident=incident, status="required", due_at__isnull=False)
    assert started == {o.clock_workflow_id for o in timed}
    assert (
        not Obligation.objects.filter(incident=incident, status="required", due_at__isnull=True)
        .exclude(clock_workflow_id="")
        .exists()
    )  # no clock for duties without a due time

    facts["events"]["discovered_at"] = "2026-01-15T15:00:00Z"  # corrected trigger
    assessment_record(incident=incident, facts=facts, actor=LEGAL)
    move = TemporalOutbox.objects.get(workflow_id=hipaa.clock_workflow_id, kind="update", update_name="move_deadline")
    assert move.payload["due_at"] == "2026-03-17T03:59:59Z"

    facts["encryption"]["key_compromised"] = False  # the harbour holds: exempt, the clock is cancelled
    assessment_record(incident=incident, facts=facts, actor=LEGAL)
    assert TemporalOutbox.objects.filter(workflow_id=hipaa.clock_workflow_id, update_name="cancel").exists()
    hipaa.refresh_from_db()
    assert (hipaa.status, hipaa.clock_workflow_id) == ("exempt", "")

    facts["encryption"]["key_compromised"] = True  # required again: a new clock, a new generation
    assessment_record(incident=incident, facts=facts, actor=LEGAL)
    hipaa.refresh_from_db()
    assert hipaa.clock_workflow_id.endswith("-g2")


def test_a_closed_incident_or_one_without_a_workflow_gets_standalone_clocks(incident):
    incident.status = Incident.Status.CLOSED
    incident.save(update_fields=["status"])
    assessment_record(incident=incident, facts=hipaa_facts(incident), actor=LEGAL)
    hipaa = Obligation.objects.get(incident=incident, rule_id="US-HIPAA-404")
    start = TemporalOutbox.objects.get(workflow_id=hipaa.clock_workflow_id)
    assert (start.kind, start.parent_workflow_id, start.workflow_type) == ("start", "", "ObligationClock")

    incident.status, incident.workflow_id = Incident.Status.OPEN, ""
    incident.save(update_fields=["status", "workflow_id"])
    facts = hipaa_facts(incident)
    facts["encryption"]["key_compromised"] = False
    assessment_record(incident=incident, facts=facts, actor=LEGAL)  # cancelled
    facts["encryption"]["key_compromised"] = True
    assessment_record(incident=incident, facts=facts, actor=LEGAL)  # a new clock, generation 2
    hipaa.refresh_from_db()
    start = TemporalOutbox.objects.get(workflow_id=hipaa.clock_workflow_id)
    assert hipaa.clock_workflow_id.endswith("-g2")
    assert (start.kind, start.parent_workflow_id) == ("start", "")


def test_notice_is_audited_and_mailed_to_legal(incident, make_user):
    legal = make_user("dpo", roles.LEGAL_DPO)
    legal.email = "dpo@example.test"
    legal.save()
    ciso = make_user("ciso", roles.CISO)
    ciso.email = "ciso@example.test"
    ciso.save()
    assessment_record(incident=incident, facts=hipaa_facts(incident), actor=LEGAL)
    hipaa = Obligation.objects.get(incident=incident, rule_id="US-HIPAA-404")
    assert hipaa.due_at is not None
    due = hipaa.due_at.isoformat()
    assert (
        clock_notice_send(
            incident=incident.reference, rule_id="US-HIPAA-404", kind="reminder", fraction=0.75, due_at=due
        )
        == 1
    )
    assert mail.outbox[-1].to == ["dpo@example.test"]
    assert "75 % of the time elapsed" in mail.outbox[-1].subject
    assert (
        clock_notice_send(
            incident=incident.reference, rule_id="US-HIPAA-404", kind="breached", fraction=1.0, due_at=due
        )
        == 2
    )
    assert sorted(m.to[0] for m in mail.outbox[-2:]) == ["ciso@example.test", "dpo@example.test"]
    assert AuditEvent.objects.filter(action="regulatory.clock_breached", incident=incident.reference).exists()
    # nothing for an obligation that is not required
    assert (
        clock_notice_send(incident=incident.reference, rule_id="EU-GDPR-33", kind="reminder", fraction=0.5, due_at=due)
        == 0
    )


def test_a_filing_is_judged_by_the_due_time_it_met(incident):
    """A later assessment may move the obligation's due time; a filing made in time stays on time."""
    assessment_record(incident=incident, facts=hipaa_facts(incident), actor=LEGAL)
    hipaa = Obligation.objects.get(incident=incident, rule_id="US-HIPAA-404")
    assert hipaa.due_at is not None
    filed_at = hipaa.due_at - timedelta(hours=1)
    Filing.objects.create(
        obligation=hipaa, filed_at=filed_at, filed_by="legal", channel="OCR portal", due_at=hipaa.due_at
    )
    Obligation.objects.filter(pk=hipaa.pk).update(due_at=filed_at - timedelta(days=1))  # a corrected, earlier trigger
    clock = next(c for c in incident_clocks(incident, now=filed_at) if c.obligation.rule_id == "US-HIPAA-404")
    assert clock.filing is not None
    assert clock.filing.on_time
    assert clock.state.state == "filed_on_time"
