"""Drafting messages per audience, previewing them, and the commander's approval of the first send."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from audit.actors import Actor
from audit.chain import timestamp
from audit.services import audit_record
from incidents.models import Incident
from incidents.services.incidents import incident_get
from keyvault.models import ManagedKey
from keyvault.services.blast_radius import BlastRadius
from notifications.audiences import FOLLOW_UPS, KEY_STATUS, SUBJECTS, audience_of
from notifications.errors import NotAllowedToApprove, NothingToApprove
from notifications.key_status import key_status
from notifications.models import Notification, Party
from notifications.selectors import incident_radius, parties_for_incident

ACK_PLACEHOLDER = "[[ack-link]]"
PREVIEW_ACK = "(a personal, single-use acknowledgement link is added to each send)"
APPROVER_PERMISSION = "webapp.command_incidents"
SYSTEM = Actor.system("notifications")


def _base() -> str:
    return settings.SEQUESTER_BASE_URL.rstrip("/")


# What each audience is told besides the keys: internal teams everything, a regulator the data concerned,
# outside parties only their own systems and the kinds of AI data (never our other systems or volumes).
AUDIENCE_FACTS: dict[str, tuple[str, ...]] = {
    "internal": ("systems", "data_assets", "data_categories", "ai_categories", "jurisdictions", "record_count"),
    "regulator": ("data_categories", "ai_categories", "jurisdictions", "record_count"),
    "upstream": ("systems", "ai_categories"),
    "downstream": ("systems", "ai_categories"),
}


def incident_facts(
    incident: Incident, party: Party, audience: str, *, radius: BlastRadius, keys: list[ManagedKey]
) -> dict[str, Any]:
    """The facts a message and its webhook carry for ``audience``: fingerprints and states, never key
    material; key aliases and internal names only for internal teams. ``radius`` and ``keys`` (the
    incident's, by alias) are read once per drafting, not once per party."""
    internal = audience == "internal"
    own_systems = set(party.systems.values_list("name", flat=True))
    everything: dict[str, Any] = {
        "systems": radius.systems if internal else [s for s in radius.systems if s in own_systems],
        "data_assets": [asset.name for asset in radius.data_assets],
        "data_categories": radius.data_categories,
        "ai_categories": radius.ai_categories,
        "jurisdictions": radius.jurisdictions,
        "record_count": radius.record_count,
    }
    return {
        "incident": incident.reference,
        "severity": incident.severity,
        "opened_at": timestamp(incident.opened_at),
        "keys": [key_status(key) | ({"alias": key.alias} if internal else {}) for key in keys],
        **{name: everything[name] for name in AUDIENCE_FACTS[audience]},
    }


def _render(
    incident: Incident, party: Party, audience: str, facts: dict[str, Any], *, change: str = ""
) -> tuple[str, str]:
    context = facts | {
        "change": change,
        "internal": audience == "internal",
        "resolution": incident.get_resolution_display().lower() if incident.resolution else "",
        "party": party.name,
        "role": party.get_role_display(),
        "reference": incident.reference,
        "title": incident.title,
        "feed_url": _base() + reverse("key-status-feed"),
        "incident_url": _base() + reverse("incident-page", args=[incident.reference]),
        "ack_url": ACK_PLACEHOLDER,
    }
    if change:
        body = str(render_to_string("notifications/messages/follow_up.txt", context))
        subject = FOLLOW_UPS[change].format(reference=incident.reference)
    else:
        body = str(render_to_string(f"notifications/messages/{audience}.txt", context))
        subject = SUBJECTS[audience].format(reference=incident.reference)
    if incident.exercise:  # a drill says so first, in the subject and the body
        subject, body = (
            f"[EXERCISE] {subject}",
            f"EXERCISE: this is a drill on canary keys, not a real compromise.\n\n{body}",
        )
    return subject, body


def _first_send_approved(incident: Incident) -> bool:
    return Notification.objects.filter(incident=incident, approved_at__isnull=False).exists()


def _draft(
    incident: Incident,
    party: Party,
    *,
    message: str,
    audience: str,
    content: tuple[str, str, dict[str, Any]],
    actor: Actor,
    reason: str,
    change: str = "",
) -> Notification | None:
    """One message to one party, once (None when it exists already), its drafting on the audit trail."""
    subject, body, facts = content
    notification, new = Notification.objects.get_or_create(
        idempotency_key=f"{incident.reference}:{party.pk}:{message}",
        defaults={
            "incident": incident,
            "party": party,
            "message": message,
            "audience": audience,
            "subject": subject,
            "body": body,
            "facts": facts,
        },
    )
    if not new:
        return None
    audit_record(
        action="notification.drafted",
        actor=actor,
        subject_type="notification",
        subject_id=notification.idempotency_key,
        reason=reason,
        incident=incident.reference,
        data={"party": party.name, "role": party.role, "audience": audience} | ({"change": change} if change else {}),
    )
    return notification


@transaction.atomic
def notifications_draft(*, reference: str, actor: Actor, message: str = KEY_STATUS) -> list[Notification]:
    """One notification per selected party (again: no duplicate). Until the commander approved the
    incident's first send they stay drafts; afterwards new ones go out at once."""
    incident = incident_get(reference, lock=True)
    approved_before = _first_send_approved(incident)
    created: list[Notification] = []
    radius = incident_radius(incident)
    told = set(Notification.objects.filter(incident=incident, message=message).values_list("party_id", flat=True))
    keys = _incident_keys(incident)
    for party in parties_for_incident(incident, radius):
        if party.pk in told:
            continue
        audience = audience_of(party.role)
        facts = incident_facts(incident, party, audience, radius=radius, keys=keys)
        subject, body = _render(incident, party, audience, facts)
        drafted = _draft(
            incident,
            party,
            message=message,
            audience=audience,
            content=(subject, body, facts),
            actor=actor,
            reason=f"{party.name} ({party.get_role_display()}) selected by the blast radius",
        )
        if drafted is not None:
            created.append(drafted)
    if approved_before and created:
        _approve(incident, created, approver="(first send approved earlier)", actor=actor)
    return created


def notifications_draft_for_incident(incident: Incident) -> str:
    """The playbook's notify hook: draft, and say on the timeline what waits for whom."""
    created = notifications_draft(reference=incident.reference, actor=SYSTEM)
    waiting = Notification.objects.filter(incident=incident, status=Notification.Status.DRAFT).count()
    if waiting:
        return f"{waiting} notification(s) drafted; the first send waits for the commander's approval"
    if created:
        return f"{len(created)} notification(s) sent (the incident's first send was approved earlier)"
    return "no party relates to the keys, systems or data in the blast radius: nobody to notify"


@dataclass(frozen=True, slots=True)
class Preview:
    notification: Notification
    subject: str
    body: str
    channels: list[str]


def notification_preview(notification: Notification) -> Preview:
    return Preview(
        notification=notification,
        subject=notification.subject,
        body=notification.body.replace(ACK_PLACEHOLDER, PREVIEW_ACK),
        channels=[c.get_kind_display() for c in notification.party.channels.filter(active=True)],
    )


def notifications_may_approve(incident: Incident, user: Any) -> bool:
    return bool(user.is_authenticated and (incident.commander_id == user.pk or user.has_perm(APPROVER_PERMISSION)))


def _approve(incident: Incident, drafts: list[Notification], *, approver: str, actor: Actor) -> list[Notification]:
    """Send the drafts, except a regulator's message without a legal sign-off of its text: nobody mails a
    regulator in one click (notifications/services/regulators.py). Returns those sent."""
    from ir_workflows.notifications.types import NOTIFICATION_WORKFLOW, NotificationInput, notification_workflow_id
    from ir_workflows.outbox import outbox_start
    from notifications.services.regulators import held_for_signoff

    now = timezone.now()
    held = [n for n in drafts if held_for_signoff(n)]
    for notification in held:
        audit_record(
            action="notification.held",
            actor=actor,
            subject_type="notification",
            subject_id=notification.idempotency_key,
            reason=f"a message to a regulator ({notification.party.name}) waits for legal sign-off of its text",
            incident=incident.reference,
            data={"party": notification.party.name, "audience": notification.audience},
        )
    drafts = [n for n in drafts if n not in held]
    if not drafts:
        return []
    for notification in drafts:
        notification.status = Notification.Status.APPROVED
        notification.approved_by, notification.approved_at = approver, now
        notification.workflow_id = notification_workflow_id(notification.pk)
        notification.save(update_fields=["status", "approved_by", "approved_at", "workflow_id"])
        party = notification.party
        outbox_start(
            workflow_type=NOTIFICATION_WORKFLOW,
            workflow_id=notification.workflow_id,
            payload=NotificationInput(
                notification_id=notification.pk,
                incident=incident.reference,
                ack_sla_seconds=party.ack_sla_minutes * 60,
                reminders=party.reminders,
            ),
        )
    audit_record(
        action="notification.approved",
        actor=actor,
        subject_type="incident",
        subject_id=incident.reference,
        reason=f"sending {len(drafts)} notification(s)",
        incident=incident.reference,
        data={"approved_by": approver, "notifications": [n.idempotency_key for n in drafts]},
    )
    return drafts


@transaction.atomic
def notifications_approve(*, reference: str, user: Any, actor: Actor) -> list[Notification]:
    """The commander approves the drafts (after previewing them): each gets its durable workflow."""
    incident = incident_get(reference, lock=True)
    if not notifications_may_approve(incident, user):
        raise NotAllowedToApprove("only the incident's commander approves the first send to outside parties")
    drafts = list(
        Notification.objects.select_for_update(of=("self",))
        .filter(incident=incident, status=Notification.Status.DRAFT)
        .select_related("party")
    )
    if not drafts:
        raise NothingToApprove(f"{incident.reference} has no draft notification")
    sent = _approve(incident, drafts, approver=user.get_username(), actor=actor)
    if not sent:
        raise NothingToApprove(
            f"{incident.reference}: only messages to regulators are waiting, and each needs legal sign-off of its text"
        )
    return sent


def _incident_keys(incident: Incident) -> list[ManagedKey]:
    return list(
        ManagedKey.objects.filter(id__in=incident.incident_keys.values_list("key_id", flat=True))
        .prefetch_related("versions", "replaced_by__versions")
        .order_by("alias", "id")
    )


def _states_digest(keys: list[ManagedKey]) -> str:
    states = [[str(k.id), k.state, bool(k.restricted_at), str(k.replaced_by_id or "")] for k in keys]
    return hashlib.sha256(json.dumps(states).encode()).hexdigest()[:12]


@transaction.atomic
def notifications_follow_up(incident: Incident, change: str) -> str:
    """A later state change (restricted, replaced, closed): every party whose first notice went out gets
    a follow-up on the same channels, acknowledged like the first (its own workflow, SLA, reminders and
    escalation). First notices still awaiting the commander's approval are brought up to date instead.
    Idempotent: the same change of the same key states is one message per party."""
    told = list(
        Notification.objects.select_for_update(of=("self",))
        .filter(incident=incident, message=KEY_STATUS)
        .exclude(status=Notification.Status.CANCELLED)
        .select_related("party")
    )
    if not told:
        return ""
    radius, keys = incident_radius(incident), _incident_keys(incident)
    redrafted = 0
    for notification in [n for n in told if n.status == Notification.Status.DRAFT]:
        facts = incident_facts(incident, notification.party, notification.audience, radius=radius, keys=keys)
        subject, body = _render(incident, notification.party, notification.audience, facts)
        if body != notification.body or facts != notification.facts:
            notification.subject, notification.body, notification.facts = subject, body, facts
            notification.save(update_fields=["subject", "body", "facts"])
            redrafted += 1
    message = change if change == "closed" else f"{change}:{_states_digest(keys)}"
    created = []
    for first in [n for n in told if n.status != Notification.Status.DRAFT and n.party.active]:
        party = first.party
        facts = incident_facts(incident, party, first.audience, radius=radius, keys=keys) | {"change": change}
        subject, body = _render(incident, party, first.audience, facts, change=change)
        drafted = _draft(
            incident,
            party,
            message=message,
            audience=first.audience,
            content=(subject, body, facts),
            actor=SYSTEM,
            reason=f"follow-up ({change}) to {party.name}, told of the incident before",
            change=change,
        )
        if drafted is not None:
            created.append(drafted)
    if created:
        _approve(incident, created, approver="(follow-up of an approved first notice)", actor=SYSTEM)
    done = []
    if created:
        done.append(f"{len(created)} follow-up notice(s) sent ({change})")
    if redrafted:
        done.append(f"{redrafted} first notice(s) awaiting approval brought up to date ({change})")
    return "; ".join(done)
