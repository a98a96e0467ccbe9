"""What the regulatory app plugs into the rest of Sequester: the playbook's regulatory step, the case
file's obligations section, the navigation."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from audit.actors import Actor
from casefile.gather import Section
from incidents.models import Incident
from regulatory.selectors import incident_clocks
from regulatory.serialize import utc_z
from regulatory.services.assessments import assessment_latest, assessment_prefill, assessment_record


def regulatory_step(incident: Incident) -> str:
    """At the playbook's regulatory step: assess from the pre-filled facts when nobody has yet."""
    assessment = assessment_latest(incident)
    if assessment is None:
        assessment = assessment_record(
            incident=incident,
            facts=assessment_prefill(incident),
            actor=Actor.system("playbook-regulatory"),
            note="assessed from the blast radius and key custody at the regulatory step; legal to complete",
        )
    required = [o for o in assessment.obligations["obligations"] if o["status"] == "required"]
    timed = sorted((o for o in required if o["due_utc"]), key=lambda o: o["due_utc"])
    awaiting = sum(1 for o in assessment.obligations["obligations"] if o["status"] == "awaiting_trigger")
    provisional = sum(1 for o in required if o.get("provisional"))
    line = (
        f"assessment v{assessment.version}: {len(required)} required obligation(s) ({provisional} provisional, "
        f"decisions pending), {awaiting} awaiting a trigger"
    )
    if timed:
        line += f"; first due {timed[0]['id']} at {timed[0]['due_utc']}"
    return line


def obligations_section(incident: Incident) -> Section | None:
    """The case file's obligations: every assessed rule with its outcome, due time and filing."""
    clocks = incident_clocks(incident, now=timezone.now())
    if not clocks:
        return None
    latest = assessment_latest(incident)
    rows = []
    evidence = []
    skipped = 0
    for clock in clocks:
        obligation = clock.obligation
        filing = clock.filing
        evidence.append(
            {
                "obligation": obligation.detail,
                "filing": None
                if filing is None
                else {
                    "filed_at": utc_z(filing.filed_at),
                    "filed_by": filing.filed_by,
                    "channel": filing.channel,
                    "reference": filing.reference,
                    "attachments": filing.attachments,
                    "late_reason": filing.late_reason,
                    "signoff": str(filing.signoff_id) if filing.signoff_id else None,
                },
            }
        )
        if obligation.status in ("not_required", "not_in_force") and filing is None:
            skipped += 1
            continue
        rows.append(
            [
                obligation.rule_id,
                clock.state.state.replace("_", " ")
                + (" (provisional)" if obligation.detail.get("provisional") else ""),
                utc_z(obligation.due_at) or "-",
                obligation.recipient,
                f"{filing.channel} {filing.reference} at {utc_z(filing.filed_at)}" if filing else "-",
                obligation.citation,
                obligation.confidence,
            ]
        )
    note = f"{skipped} other rule(s) of the catalogue did not apply or are not in force (reasons in the evidence). "
    if latest is not None:
        note += (
            f"Assessment v{latest.version} recorded by {latest.recorded_by} at {utc_z(latest.recorded_at)}; "
            "counting conventions and reasons are in the evidence. Not legal advice."
        )
    return Section(
        title="Regulatory obligations",
        columns=["rule", "state", "due (UTC)", "recipient", "filing", "citation", "confidence"],
        rows=rows,
        evidence=evidence,
        note=note,
    )


def incident_saved(sender: type[Incident], instance: Incident, created: bool, **_kwargs: object) -> None:
    """post_save of an incident: a new one is assessed as soon as its transaction commits (its clocks
    may run already); the periodic sync catches any that this misses."""
    if created:
        from regulatory.tasks import assess_incident

        reference = instance.reference
        transaction.on_commit(lambda: assess_incident.delay(reference))
