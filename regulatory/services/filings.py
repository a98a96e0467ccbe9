"""Filing an obligation: legal/DPO sign-off through the ``regulatory_filing_signoff`` policy, then the
filing record (when, by whom, channel, reference, attachments; a reason when late)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals.models import ApprovalRequest
from approvals.policies import REGULATORY_FILING_SIGNOFF
from approvals.selectors import request_decidable
from approvals.services.requests import approval_refuse_undecidable, approval_request_open
from audit.actors import Actor
from audit.services import audit_record
from regulatory.errors import FilingInvalid
from regulatory.models import Filing, Obligation
from regulatory.serialize import utc_z
from regulatory.services.assessments import assessment_after_filing
from regulatory.services.clocks import clock_filed


def obligation_subject(obligation: Obligation) -> str:
    return f"{obligation.incident.reference}/{obligation.rule_id}"


def signoff_possible(user: Any) -> bool:
    """Whether a sign-off this person asks for could be decided (the page offers it only then)."""
    return request_decidable(REGULATORY_FILING_SIGNOFF, user)


def _never_for_an_exercise(obligation: Obligation) -> None:
    if obligation.incident.exercise:
        raise FilingInvalid(
            f"{obligation.rule_id} belongs to an exercise ({obligation.incident.reference}): its clocks are computed "
            "to score the drill, and nothing is ever filed"
        )


def filing_signoff_request(*, obligation: Obligation, user: Any, actor: Actor, reason: str) -> ApprovalRequest:
    """Ask legal/DPO to sign off the filing of ``obligation`` (one approver of the legal_dpo role, with
    step-up). Refused, and the refusal recorded, when nobody could decide it (the only legal approver
    asking, say): a request that can never be decided would only block the incident's closure."""
    _never_for_an_exercise(obligation)
    if obligation.status != "required":
        raise FilingInvalid(f"{obligation.rule_id} is {obligation.status}: there is nothing to file")
    approval_refuse_undecidable(
        action=REGULATORY_FILING_SIGNOFF,
        requester=user,
        actor=actor,
        subject_type="obligation",
        subject_id=obligation_subject(obligation),
        incident=obligation.incident.reference,
        what=obligation.rule_id,
    )
    return approval_request_open(
        action=REGULATORY_FILING_SIGNOFF,
        payload={
            "obligation": obligation_subject(obligation),
            "rule": obligation.rule_id,
            "recipient": obligation.recipient,
            "due_utc": utc_z(obligation.due_at),
            "citation": obligation.citation,
        },
        reason=reason,
        requested_by=user,
        actor=actor,
        incident=obligation.incident.reference,
    )


def filing_signoffs(obligation: Obligation) -> list[ApprovalRequest]:
    return list(
        ApprovalRequest.objects.filter(
            action=REGULATORY_FILING_SIGNOFF, subject_type="obligation", subject_id=obligation_subject(obligation)
        ).order_by("-requested_at")
    )


@transaction.atomic
def filing_record(
    *,
    obligation: Obligation,
    actor: Actor,
    filed_at: datetime,
    channel: str,
    reference: str = "",
    attachments: list[dict[str, Any]] | None = None,
    late_reason: str = "",
) -> Filing:
    """Record that the obligation was filed. Needs an approved sign-off; a late filing needs its reason."""
    _never_for_an_exercise(obligation)
    if obligation.status != "required":
        raise FilingInvalid(f"{obligation.rule_id} is {obligation.status}: there is nothing to file")
    if filed_at > timezone.now():
        raise FilingInvalid("a filing cannot be recorded in the future")
    if not channel.strip():
        raise FilingInvalid("say through which channel it was filed")
    signoff = next((r for r in filing_signoffs(obligation) if r.status == ApprovalRequest.Status.APPROVED), None)
    if signoff is None:
        raise FilingInvalid(f"{obligation.rule_id}: legal/DPO sign-off ({REGULATORY_FILING_SIGNOFF}) is not approved")
    late = obligation.due_at is not None and filed_at > obligation.due_at
    if late and not late_reason.strip():
        raise FilingInvalid(f"{obligation.rule_id} was due {utc_z(obligation.due_at)}: a late filing states why")
    for attachment in attachments or []:
        if not {"name", "sha256"} <= set(attachment):
            raise FilingInvalid("each attachment names its file and its SHA-256")
    filing = Filing.objects.create(
        obligation=obligation,
        filed_at=filed_at,
        filed_by=actor.name,
        channel=channel.strip(),
        reference=reference.strip(),
        attachments=attachments or [],
        late_reason=late_reason.strip(),
        due_at=obligation.due_at,
        signoff=signoff,
    )
    clock_filed(obligation, filing)
    audit_record(
        action="regulatory.filed",
        actor=actor,
        subject_type="obligation",
        subject_id=obligation_subject(obligation),
        reason=late_reason.strip() or f"filed via {channel.strip()}",
        incident=obligation.incident.reference,
        data={
            "rule": obligation.rule_id,
            "filed_at": utc_z(filed_at),
            "due_utc": utc_z(obligation.due_at),
            "on_time": not late,
            "reference": filing.reference,
            "signoff": str(signoff.id),
            "attachments": filing.attachments,
        },
    )
    assessment_after_filing(obligation)
    return filing
