"""Durable clocks: one Temporal workflow per required obligation with a due time, kept in step with the
assessments (started, moved, cancelled) and filings through the outbox; its notices land here.

A clock is a child of the incident's workflow (started by it, on the outbox's update); for a closed
incident, or one without a workflow, it is started standalone under the same id. Either way the moves,
filings and cancellations go to the clock itself, by its workflow id."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mass_mail
from django.urls import reverse

from audit.actors import Actor
from audit.services import audit_record
from incidents.models import Incident
from ir_workflows.outbox import outbox_start, outbox_start_child, outbox_update
from ir_workflows.regulatory.types import (
    CLOCK_CANCEL_UPDATE,
    CLOCK_FILED_UPDATE,
    CLOCK_MOVE_UPDATE,
    CLOCK_START_UPDATE,
    NOTICE_BREACHED,
    OBLIGATION_CLOCK_WORKFLOW,
    ClockCancel,
    ClockFiled,
    ClockInput,
    ClockMove,
    obligation_clock_id,
)
from regulatory.models import Filing, Obligation
from regulatory.serialize import utc_z
from webapp import roles


def _wants_clock(obligation: Obligation) -> bool:
    return (
        obligation.status == "required"
        and obligation.due_at is not None
        and obligation.trigger_at is not None
        and obligation.due_at > obligation.trigger_at
        and not obligation.filings.exists()
    )


def _clock_start(obligation: Obligation) -> None:
    incident = obligation.incident
    clock = ClockInput(
        incident=incident.reference,
        rule_id=obligation.rule_id,
        trigger_at=utc_z(obligation.trigger_at) or "",
        due_at=utc_z(obligation.due_at) or "",
    )
    if incident.status == Incident.Status.OPEN and incident.workflow_id:
        outbox_start_child(
            parent_workflow_id=incident.workflow_id,
            update_name=CLOCK_START_UPDATE,
            workflow_type=OBLIGATION_CLOCK_WORKFLOW,
            workflow_id=obligation.clock_workflow_id,
            payload=clock,
        )
    else:  # no playbook running to own it: the clock runs on its own
        outbox_start(workflow_type=OBLIGATION_CLOCK_WORKFLOW, workflow_id=obligation.clock_workflow_id, payload=clock)


def clock_sync(obligation: Obligation, *, moved: bool, version: int) -> None:
    """After an assessment: start the obligation's clock, move it, or cancel it (in the caller's transaction)."""
    wants = _wants_clock(obligation)
    if wants and not obligation.clock_workflow_id:
        obligation.clock_generation += 1
        obligation.clock_workflow_id = obligation_clock_id(
            obligation.incident.reference, obligation.rule_id, obligation.clock_generation
        )
        _clock_start(obligation)
    elif wants and moved:
        outbox_update(
            workflow_id=obligation.clock_workflow_id,
            update_name=CLOCK_MOVE_UPDATE,
            update_id=f"move-v{version}",
            payload=ClockMove(
                trigger_at=utc_z(obligation.trigger_at) or "",
                due_at=utc_z(obligation.due_at) or "",
                reason=f"assessment v{version}",
            ),
        )
    elif not wants and obligation.clock_workflow_id:
        outbox_update(
            workflow_id=obligation.clock_workflow_id,
            update_name=CLOCK_CANCEL_UPDATE,
            update_id=f"cancel-v{version}",
            payload=ClockCancel(reason=f"assessment v{version}: {obligation.status}"),
        )
        obligation.clock_workflow_id = ""
    else:
        return
    obligation.save(update_fields=["clock_generation", "clock_workflow_id"])


def clock_filed(obligation: Obligation, filing: Filing) -> None:
    if not obligation.clock_workflow_id:
        return
    outbox_update(
        workflow_id=obligation.clock_workflow_id,
        update_name=CLOCK_FILED_UPDATE,
        update_id=f"filed-{filing.id}",
        payload=ClockFiled(filed_at=utc_z(filing.filed_at) or "", filing=str(filing.id)),
    )
    obligation.clock_workflow_id = ""
    obligation.save(update_fields=["clock_workflow_id"])


def _recipients(kind: str) -> list[str]:
    role_names = [roles.LEGAL_DPO] + ([roles.CISO, roles.COMMANDER] if kind == NOTICE_BREACHED else [])
    users = User.objects.filter(groups__name__in=role_names, is_active=True).exclude(email="").distinct()
    return sorted({u.email for u in users})


def clock_notice_send(*, incident: str, rule_id: str, kind: str, fraction: float, due_at: str) -> int:
    """A clock's reminder (50/75/90/100 %) or escalation: on the audit trail, and mailed to legal/DPO (and,
    when breached, to the CISO and commanders). Nothing is sent for an obligation filed or no longer due."""
    obligation = (
        Obligation.objects.select_related("incident").filter(incident__reference=incident, rule_id=rule_id).first()
    )
    if obligation is None or obligation.status != "required" or obligation.filings.exists():
        return 0
    due = datetime.fromisoformat(due_at.replace("Z", "+00:00"))
    label = "ESCALATED: overdue" if kind == NOTICE_BREACHED else f"{round(fraction * 100)} % of the time elapsed"
    audit_record(
        action=f"regulatory.clock_{kind}",
        actor=Actor.system("regulatory-clock"),
        subject_type="obligation",
        subject_id=f"{incident}/{rule_id}",
        reason=f"{rule_id}: {label}; due {utc_z(due)}",
        incident=incident,
        data={"fraction": fraction, "due_utc": utc_z(due), "kind": kind},
    )
    recipients = _recipients(kind)
    if not recipients:
        return 0
    link = settings.SEQUESTER_BASE_URL.rstrip("/") + reverse("regulatory-incident", args=[incident])
    drill = obligation.incident.exercise
    subject = f"[Sequester]{' [EXERCISE]' if drill else ''} {rule_id} ({incident}): {label}"
    body = (
        ("EXERCISE: a drill's clock, computed but never filed.\n\n" if drill else "") + f"{label}.\n\n"
        f"Obligation: {rule_id} ({obligation.regime})\n"
        f"Recipient:  {obligation.recipient}\n"
        f"Due:        {utc_z(due)} ({obligation.detail.get('due_local') or '-'})\n"
        f"Citation:   {obligation.citation}\n"
        f"Confidence: {obligation.confidence}\n\n"
        f"Clocks, sign-off and filing: {link}\n"
    )
    messages = [(subject, body, settings.DEFAULT_FROM_EMAIL, [address]) for address in recipients]
    return int(send_mass_mail(messages, fail_silently=False))
