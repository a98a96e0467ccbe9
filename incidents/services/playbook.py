"""The playbook's steps on the database side: what each activity does, idempotent under retries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from approvals import policies
from approvals.models import ApprovalRequest
from approvals.services.requests import approval_request_open, gate_spec
from audit.actors import Actor
from audit.services import audit_record
from incidents.models import Incident, IncidentKey, RewrapProgress
from incidents.services.closure import (
    closure_approved_request,
    closure_blockers,
    closure_open_items,
    closure_signed_waivers,
)
from incidents.services.hooks import change_hooks_run
from incidents.services.incidents import incident_get, system_user
from incidents.services.ownership import queue_members
from ir_workflows.approvals.types import ApprovalGateSpec
from ir_workflows.incident import procedure
from keyvault.backends.managers import ManagerConnector
from keyvault.errors import IllegalTransition
from keyvault.models import DecryptGrant, ManagedKey, WrappedItem
from keyvault.services import gate, lifecycle, restriction
from keyvault.services.blast_radius import key_blast_radius
from keyvault.services.grants import decrypt_grant_for_job, job_principal
from keyvault.services.versions import key_backend
from keyvault.services.wrapped_items import wrapped_items_rewrap_on_manager
from keyvault.states import DESTROYED_STATES, SUSPENDABLE, KeyState
from keyvault.types import Principal, UseContext
from webapp.models import StaffMail
from webapp.services.staff_mail import staff_mail_attempt, staff_mail_record

S = KeyState
PLAYBOOK = Actor.system("playbook")


class BusinessError(Exception):
    """A step that cannot succeed by retrying (its type name is in the non-retryable list)."""


def _incident_keys(incident: Incident) -> list[ManagedKey]:
    return list(ManagedKey.objects.filter(incident_links__incident=incident).order_by("id"))


@transaction.atomic
def incident_contain(*, reference: str) -> dict[str, Any]:
    """Containment holds already (done with the signal): check it — suspending any key of the incident
    that is not (a key restored meanwhile, say) — and make sure the blast radius is recorded."""
    incident = incident_get(reference, lock=True)
    links = IncidentKey.objects.filter(incident=incident)
    roots = list(links.exclude(via=IncidentKey.Via.CASCADE).order_by("key_id").values_list("key_id", flat=True))
    keys = list(links.order_by("key_id").values_list("key_id", flat=True))
    loose = list(
        ManagedKey.objects.filter(id__in=keys, state__in=[s.value for s in SUSPENDABLE]).values_list("id", flat=True)
    )
    if loose:
        lifecycle.key_suspend(key_ids=loose, actor=PLAYBOOK, reason="containment check", incident=reference)
    if not incident.blast_radius or loose:
        incident.blast_radius = key_blast_radius(roots).as_dict()
        incident.save(update_fields=["blast_radius"])
    radius = incident.blast_radius
    return {
        "roots": [str(k) for k in roots],
        "keys": [str(k) for k in keys],
        "systems": len(radius.get("systems", [])),
        "record_count": int(radius.get("record_count", 0)),
    }


def incident_contain_and_request_confirmation(*, reference: str) -> tuple[dict[str, Any], ApprovalGateSpec]:
    """The path to the first gate in one step: containment checked (``incident_contain``), the incident
    at the confirm step and the first round's confirm_compromise request open (idempotent under retries,
    as each of them is)."""
    contained = incident_contain(reference=reference)
    confirmation = incident_open_approval(
        reference=reference,
        action=policies.CONFIRM_COMPROMISE,
        round_number=1,
        keys=contained["roots"],
        disposition="",
        step=procedure.CONFIRM,
    )
    return contained, confirmation


@transaction.atomic
def incident_set_step(*, reference: str, step: str) -> str:
    incident = incident_get(reference, lock=True)
    if incident.step != step:
        previous, incident.step = incident.step, step
        incident.attention = ""
        incident.save(update_fields=["step", "attention"])
        audit_record(
            action="incident.step",
            actor=PLAYBOOK,
            subject_type="incident",
            subject_id=reference,
            incident=reference,
            data={"from": previous, "to": step},
        )
    return step


def incident_open_approval(
    *, reference: str, action: str, round_number: int, keys: list[str], disposition: str, step: str = ""
) -> ApprovalGateSpec:
    """Open (once per round: retries get the same request) the approval the playbook waits for; with
    ``step``, record that the incident is at that step first (one activity instead of two)."""
    if step:
        incident_set_step(reference=reference, step=step)
    incident = incident_get(reference)
    idempotency_key = f"{reference}:{action}:{round_number}"
    existing = (
        ApprovalRequest.objects.select_related("policy", "requested_by").filter(idempotency_key=idempotency_key).first()
    )
    if existing is not None:
        return gate_spec(existing)
    if action in (policies.CONFIRM_COMPROMISE, policies.RESTORE_FALSE_POSITIVE):
        payload: dict[str, Any] = {"keys": keys, "incident": reference}
    elif action == policies.CLOSE_INCIDENT:
        request = incident.closure_request or {}
        payload = {
            "incident": reference,
            "disposition": disposition,
            "resolution": incident.resolution,
            # What the approvers sign besides the closure: every item still open and the waiver for it.
            "open_items": [item.as_dict() for item in closure_open_items(incident)],
            "waivers": dict(request.get("waivers") or {}),
        }
    elif action == policies.KEY_DESTRUCTION:
        payload = {"key": keys[0], "all_keys": keys}
    else:
        raise BusinessError(f"the playbook opens no {action} request")
    requester = incident.commander or system_user()
    if incident.exercise:
        payload["exercise"] = True
    request = approval_request_open(
        action=action,
        payload=payload,
        reason=f"{incident.reference}: {'[EXERCISE] ' if incident.exercise else ''}{incident.title}",
        requested_by=requester,
        actor=PLAYBOOK,
        incident=reference,
        workflow_id=incident.workflow_id,
    )
    ApprovalRequest.objects.filter(pk=request.pk).update(idempotency_key=idempotency_key)
    return gate_spec(request)


def incident_attention(*, reference: str, message: str) -> int:
    """Something needs the commander: on the incident, on the timeline, and by an alert mail (to the
    commander, or the queue's commanders when it has none). Returns how many have the mail now.

    The mail never fails this call: it is recorded with the event (``incident.attention`` names the
    mail and its recipients, and claims no delivery), tried at once, then retried with backoff; its
    delivery (or not) is audited by webapp.services.staff_mail and shown on the incident page. A retry
    of this call with the same message while its mail is still on its way writes nothing again."""
    with transaction.atomic():
        incident = incident_get(reference, lock=True)
        already = (
            StaffMail.objects.filter(kind=ATTENTION_MAIL, incident=reference, subject_id=reference)
            .order_by("-created_at")
            .first()
        )
        if (
            incident.attention == message[:2000]
            and already is not None
            and already.created_at > timezone.now() - ATTENTION_RETRY_WINDOW
        ):
            return len(already.delivered_to)  # the activity retried: recorded and mailed already
        incident.attention = message[:2000]
        incident.save(update_fields=["attention"])
        recipients = _attention_recipients(incident)
        mail = (
            staff_mail_record(
                kind=ATTENTION_MAIL,
                subject_type="incident",
                subject_id=reference,
                incident=reference,
                recipients=recipients,
                subject=f"{'[Sequester] [EXERCISE]' if incident.exercise else '[Sequester]'} {reference} needs you",
                body=f"{_attention_text(incident, message)}\n\n{_incident_link(reference)}\n",
            )
            if recipients
            else None
        )
        audit_record(
            action="incident.attention",
            actor=PLAYBOOK,
            subject_type="incident",
            subject_id=reference,
            reason=message,
            incident=reference,
            data={
                "alert_mail": mail.pk if mail else None,
                "alert_to": recipients,
                "delivery": "attempted next; its outcome is its own event (mail.*)" if mail else "nobody to mail",
            },
        )
    if mail is None:
        return 0
    return len(staff_mail_attempt(mail_id=mail.pk).delivered_to)


ATTENTION_MAIL = "incident_attention"
# A call with the same message this soon after the last is the activity's retry, not a new alert.
ATTENTION_RETRY_WINDOW = timedelta(minutes=5)


def _incident_link(reference: str) -> str:
    return f"{settings.SEQUESTER_BASE_URL.rstrip('/')}/incidents/{reference}/"


def _attention_text(incident: Incident, message: str) -> str:
    return ("EXERCISE — a drill, not a real compromise.\n\n" if incident.exercise else "") + message


def _attention_recipients(incident: Incident) -> list[str]:
    if incident.commander and incident.commander.email:
        return [incident.commander.email]
    # Nobody commands it yet (or no address): the queue's commanders stand in.
    return [user.email for user in queue_members() if user.email]


def key_mark_compromised(*, reference: str, key_id: str) -> str:
    key = ManagedKey.objects.get(id=key_id)
    if key.key_state in (S.COMPROMISED, S.DESTROYED_COMPROMISED):
        return str(key.state)
    try:
        lifecycle.key_compromise(
            key_id=key.id, actor=PLAYBOOK, reason="compromise confirmed by quorum", incident=reference, cascade=False
        )
    except IllegalTransition as exc:
        raise BusinessError(exc.message) from exc
    return S.COMPROMISED.value


def key_restrict_verify(*, reference: str, key_id: str) -> tuple[str, bool]:
    """Confirm on the backend the restriction the lifecycle applied when the key was compromised."""
    key = ManagedKey.objects.get(id=key_id)
    if key.key_state in DESTROYED_STATES:
        return str(key.state), True
    report = restriction.key_restriction_confirm(key_id=key.id, actor=PLAYBOOK, incident=reference)
    if report.verified:
        change_hooks_run(incident=incident_get(reference), change="restricted")
    return str(key.state), report.verified


@dataclass(frozen=True, slots=True)
class RewrapTargetRow:
    key: str
    replacement: str
    total: int


def incident_rewrap_plan(*, reference: str) -> list[RewrapTargetRow]:
    """A replacement for every compromised key of the incident — named by a signal or the commander, or
    wrapped by one of those (tainted), with data to rewrap or not, AI keys alike — unless the commander
    retired it without one, with a reason (``lifecycle.key_retire``); the rewrap job's grant (the
    confirmation quorum stands behind it) for each key with data. No key is left silently unreplaced."""
    incident = incident_get(reference)
    targets = []
    replaced = False
    for key in _incident_keys(incident):
        if key.key_state is not S.COMPROMISED or key.retired_at is not None:
            continue
        total = WrappedItem.objects.filter(key=key).count()
        replaced |= key.replaced_by_id is None
        replacement = lifecycle.key_replace(key_id=key.id, actor=PLAYBOOK, reason="replacement", incident=reference)
        if total:
            job = f"{reference}/rewrap/{key.id}"
            if not DecryptGrant.objects.filter(key=key, principal=job_principal(job), revoked_at__isnull=True).exists():
                decrypt_grant_for_job(
                    job=job,
                    key_ids=[key.id],
                    incident=reference,
                    operation_budget=max(total, 1) * 2,
                    actor=PLAYBOOK,
                    valid_for=timedelta(hours=settings.SEQUESTER_DECRYPT_GRANT_MAX_HOURS),
                )
            RewrapProgress.objects.get_or_create(
                incident=incident, key=key, defaults={"replacement": replacement, "total": total}
            )
        targets.append(RewrapTargetRow(str(key.id), str(replacement.id), total))
    if replaced:
        change_hooks_run(incident=incident, change="replaced")
    return targets


def rewrap_batch(
    *, reference: str, key_id: str, replacement_id: str, after_id: int, batch_size: int
) -> tuple[int, int]:
    """Rewrap the next batch of items still under ``key_id``: the rewrap and the rows' update commit
    together, so a crash repeats nothing. Returns (items rewrapped, last item id). Rows another
    transaction holds are skipped, not waited for: the caller makes another pass for them."""
    job = f"{reference}/rewrap/{key_id}"
    key_uuid = uuid.UUID(key_id)
    with transaction.atomic():
        items = list(
            WrappedItem.objects.select_for_update(skip_locked=True)
            .filter(key_id=key_uuid, id__gt=after_id)
            .order_by("id")[:batch_size]
        )
        if not items:
            return 0, after_id
        if _rewraps_on_its_manager(key_uuid):
            sealed = wrapped_items_rewrap_on_manager(
                key_id=key_uuid,
                replacement_id=uuid.UUID(replacement_id),
                ciphertexts=[bytes(item.ciphertext) for item in items],
                job=job,
                incident=reference,
            ).ciphertexts
        else:
            _, sealed = gate.gate_rewrap(
                items=[gate.DecryptItem(bytes(item.ciphertext), bytes(item.aad)) for item in items],
                principal=Principal.for_rewrap_job(job),
                context=UseContext(
                    justification="re-encrypt under the replacement key",
                    incident=reference,
                    affected_system="wrapped-item registry",
                    purpose="rewrap",
                ),
                target_key_id=uuid.UUID(replacement_id),
            )
        now = timezone.now()
        for item, ciphertext in zip(items, sealed, strict=True):
            item.ciphertext = ciphertext
            item.key_id = uuid.UUID(replacement_id)
            item.updated_at = now
        WrappedItem.objects.bulk_update(items, ["ciphertext", "key", "updated_at"])
        progress = RewrapProgress.objects.select_for_update().get(
            incident__reference=reference, key_id=uuid.UUID(key_id)
        )
        progress.done += len(items)
        if not WrappedItem.objects.filter(key_id=key_uuid).exists():
            progress.finished_at = now
        progress.save(update_fields=["done", "finished_at"])
        return len(items), items[-1].id


def _rewraps_on_its_manager(key_id: uuid.UUID) -> bool:
    """Keys in a key manager with its own rewrap (transit, KMS) are rewrapped there, not through the gate."""
    key = ManagedKey.objects.select_related("manager").get(id=key_id)
    if key.manager_id is None:
        return False
    connector = key_backend(key)
    return isinstance(connector, ManagerConnector) and connector.native_rewrap


def rewrap_progress(*, reference: str, key_id: str) -> tuple[int, int, int]:
    """(items rewrapped, items to rewrap, items still under the key)."""
    progress = RewrapProgress.objects.get(incident__reference=reference, key_id=uuid.UUID(key_id))
    remaining = WrappedItem.objects.filter(key_id=uuid.UUID(key_id)).count()
    return progress.done, progress.total, remaining


@transaction.atomic
def incident_restore_keys(*, reference: str) -> list[str]:
    """A false positive confirmed by quorum: suspended keys go back to active (replacements excepted)."""
    incident = incident_get(reference)
    approved = (
        ApprovalRequest.objects.filter(
            incident=reference, action=policies.RESTORE_FALSE_POSITIVE, status=ApprovalRequest.Status.APPROVED
        )
        .order_by("-closed_at")
        .first()
    )
    if approved is None:
        raise BusinessError(f"{reference} has no approved restore_false_positive request")
    named = set(approved.payload.get("details", {}).get("keys", []))
    restored = []
    for key in _incident_keys(incident):
        if key.key_state is S.SUSPENDED and str(key.id) in named:
            lifecycle.key_restore(
                key_id=key.id,
                actor=PLAYBOOK,
                reason="false positive (quorum)",
                incident=reference,
                approval=str(approved.id),
            )
            restored.append(str(key.id))
    incident.resolution = Incident.Resolution.FALSE_POSITIVE
    incident.save(update_fields=["resolution"])
    return restored


def incident_destroy_keys(*, reference: str) -> tuple[list[str], list[str]]:
    """Destroy the compromised keys named in the incident (quorum given); keys under legal hold stay."""
    incident = incident_get(reference)
    destroyed, kept = [], []
    for link in (
        IncidentKey.objects.filter(incident=incident).exclude(via=IncidentKey.Via.CASCADE).select_related("key")
    ):
        key = link.key
        if key.key_state in DESTROYED_STATES:
            destroyed.append(str(key.id))
        elif key.legal_hold:
            kept.append(str(key.id))
        else:
            lifecycle.key_destroy(
                key_id=key.id, actor=PLAYBOOK, reason="destroyed at closure (quorum)", incident=reference
            )
            destroyed.append(str(key.id))
    return destroyed, kept


def incident_closure_blockers(*, reference: str, approved: bool) -> list[str]:
    """The open items that stand in the way of closing (see ``incidents.services.closure``)."""
    return [f"{item.title} ({item.check})" for item in closure_blockers(incident_get(reference), approved=approved)]


@transaction.atomic
def incident_close(*, reference: str, resolution: str, disposition: str) -> str:
    incident = incident_get(reference, lock=True)
    if incident.status != Incident.Status.CLOSED:
        blocking = closure_blockers(incident, approved=True)
        if blocking:  # the rule, once more where the state changes: nothing closes over an open item
            raise BusinessError("open items neither done nor waived: " + "; ".join(i.title for i in blocking))
        waivers, _shown = closure_signed_waivers(closure_approved_request(incident))
        incident.status = Incident.Status.CLOSED
        incident.step = Incident.Step.CLOSED
        incident.resolution = resolution or incident.resolution
        incident.closed_at = timezone.now()
        incident.attention = ""
        incident.save()
        audit_record(
            action="incident.closed",
            actor=PLAYBOOK,
            subject_type="incident",
            subject_id=reference,
            incident=reference,
            data={"resolution": incident.resolution, "disposition": disposition, "waivers": waivers},
        )
        change_hooks_run(incident=incident, change="closed")
    assert incident.closed_at is not None
    return incident.closed_at.isoformat()
