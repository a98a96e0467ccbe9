"""Regulatory pages: an incident's clocks (timeline, assessment form, sign-off, filings) and what is due
in the next 72 hours across incidents (for legal). Thin: every rule is in the services."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from incidents.errors import IncidentNotFound
from incidents.models import Incident
from incidents.services.incidents import incident_get
from regulatory.models import Assessment, Obligation
from regulatory.presenters import countdown, timeline
from regulatory.selectors import clocks_due_within, incident_clocks
from regulatory.services.assessments import assessment_prefill, assessment_record
from regulatory.services.catalogue import facts_decode
from regulatory.services.filings import filing_record, filing_signoff_request, filing_signoffs
from webapp.api.actors import actor_from_request
from webapp.errors import DomainError
from webapp.permissions import require_any

VIEW = "webapp.view_incidents"
ASSESSORS = ("webapp.sign_filings", "webapp.command_incidents")
FILERS = ("webapp.sign_filings",)


def _incident(reference: str) -> Incident:
    try:
        return incident_get(reference)
    except IncidentNotFound:
        raise Http404("no such incident") from None


def _obligation(incident: Incident, rule_id: str) -> Obligation:
    obligation = Obligation.objects.filter(incident=incident, rule_id=rule_id).first()
    if obligation is None:
        raise Http404("no such obligation")
    return obligation


@login_required
@require_GET
def regulatory_incident(request: HttpRequest, reference: str) -> HttpResponse:
    require_any(request, VIEW)
    incident = _incident(reference)
    now = timezone.now()
    clocks = incident_clocks(incident, now=now)
    history = Assessment.objects.filter(incident=incident).defer("facts", "obligations").order_by("-version")
    assessments = list(history[:20])
    can_assess = any(request.user.has_perm(p) for p in ASSESSORS)
    rows = [
        {"clock": c, "countdown": countdown(c.state.seconds_left), "signoffs": filing_signoffs(c.obligation)}
        for c in clocks
    ]
    return render(
        request,
        "regulatory/incident.html",
        {
            "incident": incident,
            "rows": rows,
            "timeline": timeline(clocks, now),
            "assessments": assessments,
            "latest": assessments[0] if assessments else None,
            # the form's pre-filled facts: only for those who may record an assessment
            "facts_text": json.dumps(assessment_prefill(incident), indent=2, ensure_ascii=False) if can_assess else "",
            "can_assess": can_assess,
            "can_file": any(request.user.has_perm(p) for p in FILERS),
        },
    )


@login_required
@require_POST
def regulatory_assess(request: HttpRequest, reference: str) -> HttpResponse:
    require_any(request, *ASSESSORS)
    incident = _incident(reference)
    try:
        assessment = assessment_record(
            incident=incident,
            facts=facts_decode(request.POST.get("facts", "")),
            actor=actor_from_request(request),
            note=request.POST.get("note", ""),
        )
    except DomainError as exc:
        messages.error(request, f"{exc.code}: {exc.message}")
    else:
        messages.success(request, f"Assessment v{assessment.version} recorded: {len(assessment.changes)} change(s).")
    return redirect("regulatory-incident", incident.reference)


@login_required
@require_POST
def regulatory_signoff(request: HttpRequest, reference: str, rule_id: str) -> HttpResponse:
    require_any(request, *ASSESSORS)
    incident = _incident(reference)
    try:
        filing_signoff_request(
            obligation=_obligation(incident, rule_id),
            user=request.user,
            actor=actor_from_request(request),
            reason=request.POST.get("reason", "") or f"file {rule_id}",
        )
    except DomainError as exc:
        messages.error(request, f"{exc.code}: {exc.message}")
    else:
        messages.success(request, f"Sign-off of {rule_id} requested from legal/DPO.")
    return redirect("regulatory-incident", incident.reference)


@login_required
@require_POST
def regulatory_file(request: HttpRequest, reference: str, rule_id: str) -> HttpResponse:
    require_any(request, *FILERS)
    incident = _incident(reference)
    try:
        filed_at = datetime.fromisoformat(request.POST.get("filed_at", "")).replace(tzinfo=UTC)
    except ValueError:
        messages.error(request, "filed_at: a date and time (UTC) is required")
        return redirect("regulatory-incident", incident.reference)
    attachments = [
        {"name": name.strip(), "sha256": digest.strip()}
        for line in request.POST.get("attachments", "").splitlines()
        if line.strip()
        for name, _, digest in [line.rpartition(" ")]
    ]
    try:
        filing_record(
            obligation=_obligation(incident, rule_id),
            actor=actor_from_request(request),
            filed_at=filed_at,
            channel=request.POST.get("channel", ""),
            reference=request.POST.get("reference", ""),
            attachments=attachments,
            late_reason=request.POST.get("late_reason", ""),
        )
    except DomainError as exc:
        messages.error(request, f"{exc.code}: {exc.message}")
    else:
        messages.success(request, f"Filing of {rule_id} recorded.")
    return redirect("regulatory-incident", incident.reference)


@login_required
@require_GET
def regulatory_due(request: HttpRequest) -> HttpResponse:
    require_any(request, VIEW)
    now = timezone.now()
    clocks = clocks_due_within(now=now, hours=72)
    rows = [{"clock": c, "countdown": countdown(c.state.seconds_left)} for c in clocks]
    return render(request, "regulatory/due.html", {"rows": rows, "now": now})
