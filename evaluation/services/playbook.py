"""The playbook as a controlled document. Its one source is what runs: the workflow's step table
(``ir_workflows.incident.procedure``), the current approval policies, the roles, the hook points and
closure checks registered, the regulatory rule catalogue, the notification audiences and the
response-time targets. A version freezes that content with its hash; the ``playbook_publish`` approval
(two people, WebAuthn) publishes it; it is due for review 12 months later (a setting)."""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone

from approvals import policies
from approvals.models import ApprovalPolicy, ApprovalRequest
from approvals.services.requests import approval_request_open
from audit.actors import Actor
from audit.chain import canonical_json
from audit.services import audit_record
from evaluation.errors import PlaybookInvalid
from evaluation.models import Measure, PlaybookVersion
from evaluation.services.targets import SEVERITIES, duration_text, targets_table
from incidents.services.closure import closure_checks
from incidents.services.hooks import step_hooks
from ir_workflows.incident.procedure import STEPS
from ir_workflows.incident.types import INCIDENT_WORKFLOW
from notifications.audiences import AUDIENCE_OF_ROLE, SUBJECTS
from notifications.models import PartyRole
from regulatory.services.catalogue import catalogue_get
from webapp.roles import HUMAN_ROLES, ROLES_BY_SLUG

TITLE = "Key-compromise incident response procedure (CSA CCM / AICM CEK-19)"


def _policy(action: str, current: dict[str, ApprovalPolicy]) -> dict[str, Any]:
    policy = current.get(action)
    if policy is None:
        return {"action": action, "version": None, "description": "no policy installed"}
    return {
        "action": action,
        "version": policy.version,
        "description": policy.description,
        "requirements": [
            {
                "count": int(r["count"]),
                "roles": [ROLES_BY_SLUG[s].label if s in ROLES_BY_SLUG else s for s in r["roles"]],
            }
            for r in policy.requirements
        ],
        "exclude_requester": policy.exclude_requester,
        "veto_on_reject": policy.veto_on_reject,
        "webauthn_only": not policy.allow_totp,
        "expires": duration_text(policy.expires_after_seconds),
        "escalation_role": policy.escalation_role,
    }


def _deadline(rule: Any) -> str:
    spec = rule.deadline
    if spec.kind == "hours":
        return f"{spec.value} h" + (f" {spec.minutes} min" if spec.minutes else "")
    if spec.kind == "no_fixed_period":
        return "no fixed period (without undue delay)"
    return f"{spec.value} {spec.kind.replace('_', ' ')}"


def procedure_content() -> dict[str, Any]:
    """The procedure as data, read from what runs now."""
    current = {p.action: p for p in ApprovalPolicy.objects.filter(is_current=True)}
    targets = targets_table()
    hooks = step_hooks()
    steps = []
    for step in STEPS:
        steps.append(
            {
                "id": step.id,
                "title": step.title,
                "what": step.what,
                "branch": step.branch,
                "roles": [ROLES_BY_SLUG[r].label for r in step.roles if r in ROLES_BY_SLUG],
                "approvals": [_policy(action, current) for action in step.approvals],
                "hook": {"point": step.hook, "handlers": hooks.get(step.hook, [])} if step.hook else None,
                "targets": [
                    {
                        "measure": measure,
                        "label": Measure(measure).label,
                        "by_severity": {str(s): duration_text(targets.get((measure, s))) for s in SEVERITIES},
                    }
                    for measure in step.measures
                ],
            }
        )
    catalogue = catalogue_get()
    return {
        "title": TITLE,
        "workflow": INCIDENT_WORKFLOW,
        "steps": steps,
        "roles": [{"slug": r.slug, "label": r.label, "description": r.description} for r in HUMAN_ROLES],
        "policies": [_policy(action, current) for action in sorted(current)],
        "closure_checks": [{"name": name, "title": title} for name, title in closure_checks()],
        "targets": [
            {
                "measure": measure.value,
                "label": measure.label,
                "by_severity": {str(s): duration_text(targets.get((measure.value, s))) for s in SEVERITIES},
            }
            for measure in Measure
        ],
        "audiences": [
            {
                "audience": audience,
                "party_roles": [PartyRole(role).label for role, a in AUDIENCE_OF_ROLE.items() if a == audience],
                "subject": SUBJECTS[audience],
            }
            for audience in dict.fromkeys(AUDIENCE_OF_ROLE.values())
        ],
        "regulatory_rules": [
            {
                "id": rule.id,
                "regime": rule.regime,
                "jurisdiction": rule.jurisdiction,
                "recipient": rule.recipient,
                "deadline": _deadline(rule),
                "citation": rule.citation,
                "confidence": rule.confidence,
            }
            for rule in catalogue.rules
            if rule.deadline.kind != "modifier"
        ],
        "regulatory_sources": list(catalogue.sources),
        "drills": {
            "schedule": settings.SEQUESTER_DRILL_SCHEDULE or "not scheduled",
            "what": "the real playbook on canary keys made for the drill, marked exercise everywhere",
        },
        "review_months": settings.SEQUESTER_PLAYBOOK_REVIEW_MONTHS,
    }


def content_hash(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()


def procedure_markdown(content: dict[str, Any], version: PlaybookVersion | None = None) -> str:
    return render_to_string("evaluation/playbook.md", {"c": content, "version": version}).strip() + "\n"


def procedure_html(content: dict[str, Any], version: PlaybookVersion | None = None) -> str:
    """The body of the page and of the PDF (one template for both)."""
    return render_to_string("evaluation/_procedure.html", {"c": content, "version": version})


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# --- versions -------------------------------------------------------------------------------------
def playbook_in_force(at: datetime | None = None) -> PlaybookVersion | None:
    published = PlaybookVersion.objects.filter(published_at__isnull=False)
    if at is not None:
        published = published.filter(published_at__lte=at)
    return published.select_related("owner", "approval").order_by("-published_at").first()


def playbook_pending() -> PlaybookVersion | None:
    return (
        PlaybookVersion.objects.filter(published_at__isnull=True, approval__status=ApprovalRequest.Status.PENDING)
        .select_related("approval")
        .first()
    )


def version_status(version: PlaybookVersion, in_force: PlaybookVersion | None) -> str:
    if version.published_at is not None:
        return "in force" if in_force is not None and version.pk == in_force.pk else "superseded"
    return f"not published (approval {version.approval.status})" if version.approval else "not published"


@dataclass(frozen=True, slots=True)
class PlaybookStatus:
    in_force: PlaybookVersion | None
    pending: PlaybookVersion | None
    live_hash: str
    drifted: bool  # what runs differs from the version in force
    overdue: bool  # its review date has passed
    review_due_on: date | None

    @property
    def notice(self) -> str:
        """What the home page and the reports say (empty when nothing is wrong)."""
        if self.in_force is None:
            return "No playbook version is published: the procedure is not a controlled document yet."
        if self.overdue:
            return (
                f"The playbook's review is overdue: v{self.in_force.number} was due for review on {self.review_due_on}."
            )
        return ""


def playbook_status(*, today: date | None = None) -> PlaybookStatus:
    in_force = playbook_in_force()
    live = content_hash(procedure_content())
    due = in_force.review_due_on if in_force else None
    return PlaybookStatus(
        in_force=in_force,
        pending=playbook_pending(),
        live_hash=live,
        drifted=in_force is not None and in_force.content_hash != live,
        overdue=due is not None and due < (today or timezone.localdate()),
        review_due_on=due,
    )


@transaction.atomic
def playbook_propose(*, owner: Any, change_summary: str, user: Any, actor: Actor) -> PlaybookVersion:
    """Freeze what runs now as the next version and ask for its ``playbook_publish`` approval (a review
    with no change is a new version too: it moves the review date)."""
    if not change_summary.strip():
        raise PlaybookInvalid("a version says what changed (or that the review found no change)")
    if owner is None or not owner.is_active:
        raise PlaybookInvalid("the playbook has an owner (an active user)")
    PlaybookVersion.objects.select_for_update().aggregate(Max("number"))  # serialise proposals
    if playbook_pending() is not None:
        raise PlaybookInvalid("a version already waits for its approval: decide on it (or cancel it) first")
    number = (PlaybookVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1
    content = procedure_content()
    digest = content_hash(content)
    version = PlaybookVersion.objects.create(
        number=number,
        owner=owner,
        change_summary=change_summary.strip(),
        content=content,
        content_hash=digest,
        markdown="",
        proposed_by=user,
    )
    version.markdown = procedure_markdown(content, version)
    version.approval = approval_request_open(
        action=policies.PLAYBOOK_PUBLISH,
        payload={
            "playbook_version": str(number),
            "content_hash": digest,
            "owner": owner.get_username(),
            "change_summary": version.change_summary,
            "steps": [s["id"] for s in content["steps"]],
        },
        reason=f"publish playbook v{number}: {version.change_summary[:200]}",
        requested_by=user,
        actor=actor,
    )
    version.save()
    audit_record(
        action="playbook.proposed",
        actor=actor,
        subject_type="playbook",
        subject_id=f"v{number}",
        reason=version.change_summary,
        data={"content_hash": digest, "owner": owner.get_username(), "request": str(version.approval.id)},
    )
    return version


def playbook_published(request: ApprovalRequest, actor: Actor) -> dict[str, Any]:
    """Effect of an approved ``playbook_publish`` (in the deciding transaction): the version is in force."""
    version = PlaybookVersion.objects.select_for_update().get(approval=request)
    now = timezone.now()
    version.published_at = now
    version.review_due_on = add_months(timezone.localdate(now), settings.SEQUESTER_PLAYBOOK_REVIEW_MONTHS)
    version.save(update_fields=["published_at", "review_due_on"])
    audit_record(
        action="playbook.published",
        actor=actor,
        subject_type="playbook",
        subject_id=f"v{version.number}",
        reason=version.change_summary,
        data={
            "content_hash": version.content_hash,
            "owner": version.owner.get_username(),
            "request": str(request.id),
            "review_due_on": version.review_due_on.isoformat(),
        },
    )
    return {"playbook_version": version.number, "content_hash": version.content_hash}
