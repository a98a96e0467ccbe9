"""Post-incident reviews: written by the responders, timeline generated from the audit trail, actions
with owner and due date tracked to done, signed off through ``post_incident_review``."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals import policies
from approvals.models import ApprovalRequest
from approvals.services.requests import approval_request_open
from audit.actors import Actor
from audit.chain import canonical_json, timestamp
from audit.models import AuditEvent
from audit.services import audit_record
from casefile.gather import TIMELINE_ACTIONS
from evaluation.errors import ReviewInvalid, ReviewLocked
from evaluation.models import Review, ReviewAction
from incidents.models import Incident
from incidents.services.closure import OpenItem
from incidents.services.incidents import incident_get

TIMELINE_LIMIT = 400
MISSING, DRAFT, AWAITING, SIGNED_OFF = "missing", "draft", "awaiting sign-off", "signed off"


def review_state(review: Review | None) -> str:
    if review is None:
        return MISSING
    if review.signed_off_at is not None:
        return SIGNED_OFF
    if review.signoff is not None and review.signoff.status == ApprovalRequest.Status.PENDING:
        return AWAITING
    return DRAFT


def review_of(incident: Incident) -> Review | None:
    return Review.objects.select_related("signoff").filter(incident=incident).first()


def review_timeline(incident: Incident) -> list[dict[str, Any]]:
    """The incident's timeline as the audit trail recorded it (never typed by hand)."""
    events = AuditEvent.objects.filter(incident=incident.reference, action__in=TIMELINE_ACTIONS).order_by("seq")
    return [
        {"seq": e.seq, "at": timestamp(e.occurred_at), "action": e.action, "actor": e.actor, "reason": e.reason[:300]}
        for e in events[:TIMELINE_LIMIT]
    ]


def _locked(reference: str) -> Review:
    incident = incident_get(reference)
    review, _ = Review.objects.select_for_update().get_or_create(incident=incident)
    return review


def _record(what: str, review: Review, actor: Actor, reason: str = "", **data: Any) -> None:
    audit_record(
        action=f"review.{what}",
        actor=actor,
        subject_type="review",
        subject_id=review.incident.reference,
        reason=reason,
        incident=review.incident.reference,
        data=data,
    )


@transaction.atomic
def review_update(*, reference: str, went_well: str, went_badly: str, root_cause: str, actor: Actor) -> Review:
    review = _locked(reference)
    state = review_state(review)
    if state in (AWAITING, SIGNED_OFF):
        raise ReviewLocked(f"the review is {state}: its text no longer changes")
    review.went_well, review.went_badly, review.root_cause = went_well.strip(), went_badly.strip(), root_cause.strip()
    review.updated_at = timezone.now()
    review.save()
    _record("updated", review, actor, fields=["went_well", "went_badly", "root_cause"])
    return review


@transaction.atomic
def review_action_add(*, reference: str, description: str, owner: Any, due_on: date, actor: Actor) -> ReviewAction:
    if not description.strip():
        raise ReviewInvalid("an action says what is to be done")
    if owner is None or not owner.is_active:
        raise ReviewInvalid("an action has an owner (an active user)")
    review = _locked(reference)
    action = ReviewAction.objects.create(
        review=review, description=description.strip(), owner=owner, due_on=due_on, created_by=actor.name
    )
    _record(
        "action_added",
        review,
        actor,
        description.strip()[:300],
        action=action.pk,
        owner=owner.get_username(),
        due_on=due_on.isoformat(),
    )
    return action


@transaction.atomic
def review_action_done(*, action_id: int, note: str, actor: Actor) -> ReviewAction:
    action = ReviewAction.objects.select_for_update().select_related("review__incident").filter(pk=action_id).first()
    if action is None:
        raise ReviewInvalid(f"no review action {action_id}")
    if action.done_at is None:
        action.done_at, action.done_by, action.done_note = timezone.now(), actor.name, note.strip()
        action.save(update_fields=["done_at", "done_by", "done_note"])
        _record("action_done", action.review, actor, note.strip()[:300], action=action.pk)
    return action


def _content(review: Review) -> dict[str, Any]:
    return {
        "incident": review.incident.reference,
        "went_well": review.went_well,
        "went_badly": review.went_badly,
        "root_cause": review.root_cause,
        "timeline_events": [e["seq"] for e in review.timeline],
        "actions": [
            {"description": a.description, "owner": a.owner.get_username(), "due_on": a.due_on.isoformat()}
            for a in review.actions.select_related("owner").order_by("id")
        ],
    }


@transaction.atomic
def review_submit(*, reference: str, user: Any, actor: Actor) -> Review:
    """Freeze the text and the generated timeline, and ask the commander and the security lead to sign
    it off. Whoever submits does not sign (the requester is excluded)."""
    review = _locked(reference)
    state = review_state(review)
    if state in (AWAITING, SIGNED_OFF):
        raise ReviewLocked(f"the review is already {state}")
    missing = [
        label
        for label, text in (
            ("what went well", review.went_well),
            ("what did not", review.went_badly),
            ("the root cause", review.root_cause),
        )
        if not text.strip()
    ]
    if missing:
        raise ReviewInvalid(f"a review states {', '.join(missing)} before its sign-off")
    review.timeline = review_timeline(review.incident)
    content = _content(review)
    review.content_hash = hashlib.sha256(canonical_json(content)).hexdigest()
    request = approval_request_open(
        action=policies.POST_INCIDENT_REVIEW,
        payload={"review": review.incident.reference, "content_hash": review.content_hash, **content},
        reason=f"{review.incident.reference}: post-incident review",
        requested_by=user,
        actor=actor,
        incident=review.incident.reference,
    )
    review.signoff, review.submitted_by, review.submitted_at = request, actor.name, timezone.now()
    review.save()
    _record("submitted", review, actor, content_hash=review.content_hash, request=str(request.id))
    return review


def review_signed_off(request: ApprovalRequest, actor: Actor) -> dict[str, Any]:
    """Effect of an approved ``post_incident_review`` (in the deciding transaction)."""
    review = Review.objects.select_for_update().select_related("incident").get(signoff=request)
    review.signed_off_at = timezone.now()
    review.save(update_fields=["signed_off_at"])
    _record("signed_off", review, actor, content_hash=review.content_hash, request=str(request.id))
    return {"review": review.incident.reference, "content_hash": review.content_hash}


def review_open_items(incident: Incident) -> list[OpenItem]:
    """The closure check: an incident closes with a signed-off review (or a waiver saying why not)."""
    state = review_state(review_of(incident))
    if state == SIGNED_OFF:
        return []
    return [OpenItem("review", "review", f"post-incident review {state}", "signed off by commander and security lead")]
