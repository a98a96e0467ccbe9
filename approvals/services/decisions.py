"""Deciding: the approver signs a decision document with their authenticator; the quorum is counted
under the request's row lock; the decision then travels to the waiting workflow (outbox)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals import quorum
from approvals.errors import (
    AlreadyDecided,
    ChallengeInvalid,
    InvalidApprovalRequest,
    NotEligible,
    RequestClosed,
    RequestExpired,
    RequestNotFound,
    SeparationOfDuties,
    StepUpFailed,
    StepUpRequired,
    TotpNotAllowed,
)
from approvals.models import ApprovalRequest, Decision, DecisionChallenge, StepUpAttempt
from approvals.selectors import person_roles, request_outcome, request_rules
from approvals.services import throttle
from approvals.services.effects import approval_apply
from approvals.services.stepup import totp_verify, webauthn_assertion_options, webauthn_verify
from audit.actors import Actor
from audit.chain import canonical_json, timestamp
from audit.services import audit_record
from ir_workflows.approvals.types import APPROVAL_DECISION_UPDATE, ApprovalDecisionUpdate
from ir_workflows.outbox import outbox_update
from webapp.errors import DomainError

DOCUMENT_VERSION = 1


def document_hash(document: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(document)).hexdigest()


def webauthn_challenge(document_hash_hex: str) -> bytes:
    """The authenticator signs over the decision document's hash: the signature binds to the decision."""
    return bytes.fromhex(document_hash_hex)


_REFUSALS: dict[quorum.Refusal, type[DomainError]] = {
    quorum.Refusal.CLOSED: RequestClosed,
    quorum.Refusal.INVALID_VERDICT: InvalidApprovalRequest,
    quorum.Refusal.SEPARATION_OF_DUTIES: SeparationOfDuties,
    quorum.Refusal.NOT_ELIGIBLE: NotEligible,
    quorum.Refusal.ALREADY_DECIDED: AlreadyDecided,
    quorum.Refusal.TOTP_NOT_ALLOWED: TotpNotAllowed,
}


def _check_can_decide(
    request: ApprovalRequest, approver: Any, role: str | None, verdict: str, method: str | None = None
) -> str:
    """The request is open, and the quorum's rules (approvals.quorum.vote_refusal, shared with the
    workflow's validator) let this person vote in this role; returns the role."""
    if request.status != ApprovalRequest.Status.PENDING:
        raise RequestClosed(f"the request is already {request.status}", status=request.status)
    if request.expires_at <= timezone.now():
        raise RequestExpired("the request has expired; open a new one", expired_at=request.expires_at.isoformat())
    rules = request_rules(request)
    held = person_roles(approver)
    eligible = rules.roles_for(held)
    if role is None and not eligible and not (rules.exclude_requester and approver.get_username() == rules.requester):
        raise NotEligible("none of your roles counts for this request's policy")
    chosen = role or (eligible[0] if eligible else "")
    refused = quorum.vote_refusal(
        rules,
        approver=approver.get_username(),
        role=chosen,
        verdict=verdict,
        decided=request.decisions.values_list("approver__username", flat=True),
        holder_roles=held,
        method=method,
    )
    if refused is not None:
        message = refused.message
        if refused.refusal is quorum.Refusal.NOT_ELIGIBLE and eligible:
            message = f"{message}; your eligible roles: {', '.join(eligible)}"
        raise _REFUSALS[refused.refusal](message)
    return chosen


@transaction.atomic
def decision_challenge_issue(
    *, request_id: Any, approver: Any, verdict: str, reason: str, role: str | None = None
) -> tuple[DecisionChallenge, str | None]:
    """The document to sign and, when the approver has an authenticator, the WebAuthn options."""
    if verdict not in (quorum.APPROVE, quorum.REJECT):
        raise InvalidApprovalRequest("the decision is 'approve' or 'reject'")
    if verdict == quorum.REJECT and not reason.strip():
        raise InvalidApprovalRequest("a rejection states its reason")
    request = ApprovalRequest.objects.select_related("policy", "requested_by").filter(id=request_id).first()
    if request is None:
        raise RequestNotFound(f"no approval request {request_id}")
    chosen = _check_can_decide(request, approver, role, verdict)
    now = timezone.now()
    document = {
        "v": DOCUMENT_VERSION,
        "request": str(request.id),
        "action": request.action,
        "subject": {"type": request.subject_type, "id": request.subject_id},
        "incident": request.incident,
        "payload_hash": request.payload_hash,
        "decision": verdict,
        "approver": approver.get_username(),
        "role": chosen,
        "reason": reason.strip(),
        "issued_at": timestamp(now),
        "nonce": secrets.token_hex(16),
    }
    digest = document_hash(document)
    challenge = DecisionChallenge.objects.create(
        request=request,
        approver=approver,
        document=document,
        document_hash=digest,
        issued_at=now,
        expires_at=now + timedelta(seconds=request.policy.step_up_max_age_seconds),
    )
    return challenge, webauthn_assertion_options(user=approver, challenge=webauthn_challenge(digest))


def approval_decide(
    *,
    challenge_id: Any,
    approver: Any,
    actor: Actor,
    request_id: Any = None,
    webauthn: dict[str, Any] | str | None = None,
    totp: str | None = None,
) -> Decision:
    """Record a decision proved by a fresh step-up over its document, then count the quorum.

    ``request_id`` (the request the caller addressed, e.g. the URL's) is checked before anything is
    verified or written: a challenge of another request is refused and nothing is committed. Each try
    passes the step-up throttle first (approvals.services.throttle)."""
    if (
        request_id is not None
        and not DecisionChallenge.objects.filter(id=challenge_id, approver=approver, request_id=request_id).exists()
    ):
        raise RequestNotFound(f"no decision challenge of yours for approval request {request_id}")
    with throttle.step_up_try(
        user=approver,
        actor=actor,
        purpose="decision",
        on_failure=lambda failure: _record_failed_step_up(challenge_id, approver, actor, failure),
    ) as attempt:
        return _decide(
            challenge_id=challenge_id, approver=approver, actor=actor, webauthn=webauthn, totp=totp, attempt=attempt
        )


@transaction.atomic
def _decide(
    *,
    challenge_id: Any,
    approver: Any,
    actor: Actor,
    webauthn: dict[str, Any] | str | None,
    totp: str | None,
    attempt: StepUpAttempt,
) -> Decision:
    challenge = DecisionChallenge.objects.select_for_update().filter(id=challenge_id, approver=approver).first()
    if challenge is None:
        raise ChallengeInvalid("no such decision challenge for you; ask for a new one")
    # The request's row lock serialises decisions: exactly one of two final approvals transitions it.
    request = (
        ApprovalRequest.objects.select_for_update()
        .select_related("policy", "requested_by")
        .get(id=challenge.request_id)
    )
    if challenge.consumed_at is not None:
        raise ChallengeInvalid("this decision challenge was already used; ask for a new one")
    if challenge.expires_at <= timezone.now():
        raise StepUpRequired("the step-up window has passed; sign again")
    document = challenge.document
    if document_hash(document) != challenge.document_hash or document["payload_hash"] != request.payload_hash:
        raise ChallengeInvalid("the request changed since the challenge was issued")
    method = "webauthn" if webauthn else "totp" if totp else None
    role = _check_can_decide(request, approver, document["role"], document["decision"], method)
    evidence, credential = _step_up(approver, challenge, webauthn, totp)
    throttle.step_up_attempt_succeeded(attempt)
    challenge.consumed_at = timezone.now()
    challenge.save(update_fields=["consumed_at"])
    decision = Decision.objects.create(
        request=request,
        approver=approver,
        role=role,
        verdict=document["decision"],
        reason=document["reason"],
        decided_at=timezone.now(),
        document=document,
        document_hash=challenge.document_hash,
        payload_hash=request.payload_hash,
        method=evidence["method"],
        evidence=evidence,
        credential=credential,
    )
    audit_record(
        action="approval.decided",
        actor=actor,
        subject_type=request.subject_type,
        subject_id=request.subject_id,
        reason=decision.reason,
        incident=request.incident,
        data={
            "request": str(request.id),
            "decision": str(decision.id),
            "verdict": decision.verdict,
            "role": role,
            "document_hash": decision.document_hash,
            "method": decision.method,
        },
    )
    outcome = request_outcome(request)
    if outcome.status != quorum.PENDING:
        _finish(request, outcome, actor)
    outbox_update(
        workflow_id=request.workflow_id,
        update_name=APPROVAL_DECISION_UPDATE,
        update_id=str(decision.id),
        payload=ApprovalDecisionUpdate(
            request_id=str(request.id),
            decision_id=str(decision.id),
            approver=approver.get_username(),
            role=role,
            verdict=decision.verdict,
        ),
    )
    return decision


def _step_up(
    approver: Any,
    challenge: DecisionChallenge,
    webauthn: dict[str, Any] | str | None,
    totp: str | None,
) -> tuple[dict[str, Any], Any]:
    """The method is already allowed by the rules (``_check_can_decide``); verify the proof."""
    if webauthn:
        credential, evidence = webauthn_verify(
            user=approver, credential=webauthn, challenge=webauthn_challenge(challenge.document_hash)
        )
        return evidence, credential
    if totp:
        evidence = totp_verify(user=approver, code=totp)
        evidence["document_hash"] = challenge.document_hash
        return evidence, None
    raise StepUpRequired("deciding needs a fresh WebAuthn assertion (or a TOTP code where the policy allows it)")


def _finish(request: ApprovalRequest, outcome: quorum.Outcome, actor: Actor) -> None:
    request.status = outcome.status
    request.closed_at = timezone.now()
    if outcome.status == quorum.APPROVED:
        request.result = approval_apply(request, actor=actor)
    request.save(update_fields=["status", "closed_at", "result"])
    audit_record(
        action=f"approval.{outcome.status}",
        actor=actor,
        subject_type=request.subject_type,
        subject_id=request.subject_id,
        reason=f"vetoed by {outcome.vetoed_by}" if outcome.vetoed_by else "quorum reached",
        incident=request.incident,
        data={
            "request": str(request.id),
            "action": request.action,
            "payload_hash": request.payload_hash,
            "approvers": sorted(outcome.counted),
            "result": request.result,
        },
    )


def mark_delivered(*, entry: Any, **_kwargs: Any) -> None:
    """Outbox signal: a decision's update reached its workflow."""
    if entry.kind == "update" and entry.update_name == APPROVAL_DECISION_UPDATE:
        Decision.objects.filter(id=entry.payload.get("decision_id"), delivered_at__isnull=True).update(
            delivered_at=timezone.now()
        )


def _record_failed_step_up(challenge_id: Any, approver: Any, actor: Actor, failure: StepUpFailed) -> None:
    """A failed assertion burns its challenge (no retrying a forgery against it) and is audited."""
    with transaction.atomic():
        challenge = DecisionChallenge.objects.select_for_update().filter(id=challenge_id, approver=approver).first()
        if challenge is None:
            return
        if challenge.consumed_at is None:
            challenge.consumed_at = timezone.now()
            challenge.save(update_fields=["consumed_at"])
        audit_record(
            action="approval.step_up_failed",
            actor=actor,
            subject_type="approval_request",
            subject_id=challenge.request_id,
            reason=failure.message,
            data={"challenge": str(challenge.id)},
        )
