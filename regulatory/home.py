"""The regulatory sections of the home page: the next clocks of a commander's incidents (obligations
and the approvals their playbook waits for); legal's obligations due and sign-offs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from approvals.actions import REGULATORY_FILING_SIGNOFF
from approvals.models import ApprovalRequest
from incidents.models import Incident
from regulatory.models import Filing
from regulatory.selectors import obligations_due
from webapp import roles
from webapp.countdown import until
from webapp.home import HOME_ROWS, HomeSection, home_section_register


@dataclass(frozen=True, slots=True)
class Deadline:
    """One clock on the commander's list: an obligation's deadline or an approval's expiry."""

    due_at: datetime
    incident: str
    what: str
    state: str  # overdue | at_risk | due | approval
    left: str
    url_name: str
    url_args: tuple[str, ...]


def _next_clocks(user: Any, now: datetime) -> dict[str, Any]:
    due = obligations_due(now=now, limit=HOME_ROWS, commander=user)
    mine = Incident.objects.filter(status=Incident.Status.OPEN, commander_id=user.pk).values("reference")
    gates = (
        ApprovalRequest.objects.filter(status=ApprovalRequest.Status.PENDING, incident__in=mine)
        .only("id", "action", "incident", "expires_at")
        .order_by("expires_at")[:HOME_ROWS]
    )
    deadlines = [
        Deadline(
            c.obligation.due_at,
            c.obligation.incident.reference,
            f"{c.obligation.rule_id} to {c.obligation.recipient}",
            c.state.state,
            until(c.obligation.due_at, now),
            "regulatory-incident",
            (c.obligation.incident.reference,),
        )
        for c in due.clocks
        if c.obligation.due_at is not None
    ] + [
        Deadline(
            g.expires_at,
            g.incident,
            f"approval {g.action.replace('_', ' ')} expires",
            "overdue" if g.expires_at <= now else "approval",
            until(g.expires_at, now),
            "approval-page",
            (str(g.id),),
        )
        for g in gates
    ]
    deadlines.sort(key=lambda d: d.due_at)
    return {"deadlines": deadlines[:HOME_ROWS], "waiting": due.waiting}


def _obligations_due(user: Any, now: datetime) -> dict[str, Any]:
    due = obligations_due(now=now, limit=HOME_ROWS)
    rows = [{"clock": c, "left": until(c.obligation.due_at, now)} for c in due.clocks]
    return {"rows": rows, "count": due.count, "waiting": due.waiting}


def _signoffs(user: Any, now: datetime) -> dict[str, Any]:
    signoffs = ApprovalRequest.objects.filter(action=REGULATORY_FILING_SIGNOFF).select_related("requested_by")
    pending = signoffs.filter(status=ApprovalRequest.Status.PENDING).order_by("expires_at")[:HOME_ROWS]
    to_file = (
        signoffs.filter(status=ApprovalRequest.Status.APPROVED)
        .exclude(id__in=Filing.objects.filter(signoff__isnull=False).values("signoff_id"))
        .order_by("closed_at")[:HOME_ROWS]
    )
    return {
        "pending": [{"request": r, "left": until(r.expires_at, now)} for r in pending],
        "to_file": list(to_file),
    }


def register() -> None:
    home_section_register(
        HomeSection("next_clocks", roles.COMMANDER, "Next clocks", "regulatory/home/next_clocks.html", _next_clocks, 30)
    )
    home_section_register(
        HomeSection(
            "obligations_due", roles.LEGAL_DPO, "Obligations due", "regulatory/home/due.html", _obligations_due, 10
        )
    )
    home_section_register(
        HomeSection("signoffs", roles.LEGAL_DPO, "Sign-offs", "regulatory/home/signoffs.html", _signoffs, 20)
    )
