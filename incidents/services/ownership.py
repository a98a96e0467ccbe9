"""Who commands an incident: the on-call commander or the queue for incidents a detector opened, and
assigning or reassigning a commander (audited on the hash chain, the people concerned mailed).

The rules, in one place:
- a commander is an active person who holds ``command_incidents``;
- an incident a person reports is theirs; one a detector (a signal with no person behind it, the
  drift check) opens goes to ``SEQUESTER_ONCALL_COMMANDER`` when that person may command, else it
  waits in the queue and the members of ``SEQUESTER_ONCALL_QUEUE`` who may command are told;
- only a holder of ``command_incidents`` assigns: themselves ("take") or another commander, on an
  open incident; every change is an ``incident.commander_assigned`` event with who, from, to and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.db import transaction

from audit.actors import Actor
from audit.services import audit_record
from incidents.errors import CommanderNotEligible, IncidentClosed, NotAllowedToAssign
from incidents.models import Incident

COMMAND_PERMISSION = "webapp.command_incidents"


class Assignment(StrEnum):
    """How an incident got its commander (the ``via`` of ``incident.commander_assigned``)."""

    REPORTER = "reporter"  # the person who reported it
    ONCALL = "oncall"  # a detector opened it: the on-call commander
    QUEUED = "queued"  # a detector opened it and nobody is on call: it waits in the queue
    TAKEN = "taken"  # a commander took it
    ASSIGNED = "assigned"  # a commander gave it to another commander


class Notice(StrEnum):
    """What the people concerned are mailed about."""

    YOURS = "yours"  # the incident is now yours
    QUEUED = "queued"  # an incident waits in the queue for someone to take it
    HANDED_OVER = "handed_over"  # the incident you commanded now has another commander


def commander_eligible(user: Any) -> bool:
    return bool(user is not None and user.is_active and user.has_perm(COMMAND_PERMISSION))


def oncall_commander() -> tuple[Any, str]:
    """The configured on-call commander, or None and why not (said in the audit trail)."""
    username = settings.SEQUESTER_ONCALL_COMMANDER
    if not username:
        return None, "no on-call commander is configured (SEQUESTER_ONCALL_COMMANDER)"
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        return None, f"the on-call commander {username!r} does not exist"
    if not commander_eligible(user):
        return None, f"the on-call commander {username!r} may not command incidents (inactive or no commander role)"
    return user, ""


def queue_members() -> list[Any]:
    """Who is told of an incident waiting in the queue: active members of the queue group who may command."""
    members = (
        get_user_model()
        .objects.filter(groups__name=settings.SEQUESTER_ONCALL_QUEUE, is_active=True)
        .distinct()
        .order_by("username")
    )
    return [user for user in members if user.has_perm(COMMAND_PERMISSION)]


def _notify(reference: str, notice: Notice, username: str = "") -> None:
    from incidents.tasks import notify_ownership

    # robust: a broker that is down loses a mail (logged), never the committed incident or assignment.
    transaction.on_commit(lambda: notify_ownership.delay(reference, notice.value, username), robust=True)


@dataclass(frozen=True, slots=True)
class Routing:
    """Who commands a new incident, how, and why."""

    commander: Any
    via: Assignment
    why: str


def incident_routing(reporter: Any) -> Routing:
    """The commander of a new incident: the person who reported it, else the on-call commander, else
    nobody yet (the queue)."""
    if commander_eligible(reporter):
        return Routing(reporter, Assignment.REPORTER, "reported it")
    commander, why = oncall_commander()
    if commander is not None:
        return Routing(commander, Assignment.ONCALL, "on call when a detector opened it")
    return Routing(None, Assignment.QUEUED, f"queued: {why}")


def incident_routing_record(*, incident: Incident, routing: Routing, actor: Actor) -> None:
    """Inside the transaction that opened ``incident``: record where a detector's incident went and
    tell the on-call commander, or the queue. (A reporter's own incident says who in ``incident.opened``.)"""
    if routing.via is Assignment.REPORTER:
        return
    audit_record(
        action="incident.commander_assigned",
        actor=actor,
        subject_type="incident",
        subject_id=incident.reference,
        reason=routing.why,
        incident=incident.reference,
        data={
            "from": None,
            "to": routing.commander.get_username() if routing.commander is not None else None,
            "via": routing.via.value,
        },
    )
    _notify(incident.reference, Notice.YOURS if routing.via is Assignment.ONCALL else Notice.QUEUED)


@transaction.atomic
def incident_assign_commander(*, reference: str, commander: str, by: Any, actor: Actor, reason: str = "") -> Incident:
    """``by`` makes ``commander`` (a username) the incident's commander: themselves (take) or another
    commander. Assigning the current commander again changes nothing and records nothing."""
    from incidents.services.incidents import incident_get

    if not commander_eligible(by):
        raise NotAllowedToAssign("only an incident commander assigns incidents")
    incident = incident_get(reference, lock=True)
    if incident.status != Incident.Status.OPEN:
        raise IncidentClosed(f"incident {incident.reference} is closed: its commander stays on the record")
    new = get_user_model().objects.filter(username=commander).first()
    if new is None or not commander_eligible(new):
        raise CommanderNotEligible(
            f"{commander!r} cannot command incidents (no such active person with the commander role)",
            commander=commander,
        )
    previous = incident.commander
    if previous is not None and previous.pk == new.pk:
        return incident
    incident.commander = new
    incident.save(update_fields=["commander"])
    via = Assignment.TAKEN if new.pk == by.pk else Assignment.ASSIGNED
    audit_record(
        action="incident.commander_assigned",
        actor=actor,
        subject_type="incident",
        subject_id=incident.reference,
        reason=reason.strip()[:2000] or ("took it" if via is Assignment.TAKEN else "assigned"),
        incident=incident.reference,
        data={
            "from": previous.get_username() if previous else None,
            "to": new.get_username(),
            "via": via.value,
        },
    )
    if via is Assignment.ASSIGNED:
        _notify(incident.reference, Notice.YOURS)
    if previous is not None:
        _notify(incident.reference, Notice.HANDED_OVER, previous.get_username())
    return incident


def _mail(incident: Incident, notice: Notice) -> tuple[str, str]:
    link = f"{settings.SEQUESTER_BASE_URL.rstrip('/')}/incidents/{incident.reference}/"
    tag = "[Sequester] [EXERCISE]" if incident.exercise else "[Sequester]"
    commander = incident.commander.get_username() if incident.commander else "nobody yet"
    headline = {
        Notice.YOURS: f"{incident.reference} is yours to command",
        Notice.QUEUED: f"{incident.reference} waits for a commander: take it",
        Notice.HANDED_OVER: f"{incident.reference} is now commanded by {commander}",
    }[notice]
    body = (
        ("EXERCISE — a drill, not a real compromise.\n\n" if incident.exercise else "") + f"{headline}.\n\n"
        f"Incident:  {incident.reference}: {incident.title}\n"
        f"Severity:  {incident.get_severity_display()}\n"
        f"Step:      {incident.get_step_display()}\n"
        f"Commander: {commander}\n"
        f"Opened:    {incident.opened_at:%Y-%m-%d %H:%M} UTC\n\n"
        f"{link}\n"
    )
    return f"{tag} {headline}", body


def ownership_notice_send(*, reference: str, notice: str, username: str = "") -> int:
    """Mail what changed to whom it concerns, as the incident is now: the commander (``yours``), the
    queue while nobody took it (``queued``), the previous commander ``username`` (``handed_over``).
    A notice that no longer holds (taken meanwhile, reassigned again) is not sent."""
    incident = Incident.objects.select_related("commander").filter(reference=reference).first()
    if incident is None or incident.status != Incident.Status.OPEN:
        return 0
    kind = Notice(notice)
    if kind is Notice.YOURS:
        recipients = [incident.commander] if incident.commander is not None else []
    elif kind is Notice.QUEUED:
        recipients = queue_members() if incident.commander is None else []
    else:
        previous = get_user_model().objects.filter(username=username).first()
        recipients = [previous] if previous is not None and previous.pk != incident.commander_id else []
    addresses = [user.email for user in recipients if user.email]
    if not addresses:
        return 0
    subject, body = _mail(incident, kind)
    return int(send_mass_mail([(subject, body, settings.DEFAULT_FROM_EMAIL, [a]) for a in addresses]))
