"""Regulatory pages: an incident's clocks (decisions to take, timeline, the guided facts form with a preview
of what changes, sign-off, filings, messages to regulators), what is due in the next 72 hours across
incidents (for legal), and the organisation profile (for administrators). Thin: the rules are in services."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from incidents.errors import IncidentNotFound
from incidents.models import Incident
from incidents.services.incidents import incident_get
from notifications.audiences import REGULATOR
from notifications.models import Notification
from notifications.services.regulators import (
    held_for_signoff,
    notification_release,
    notification_signoff_request,
    regulator_signoff,
    regulator_signoffs,
)
from regulatory.facts_diff import facts_diff
from regulatory.forms import FactsForm, ProfileForm
from regulatory.models import Assessment, Obligation, OrganisationProfile
from regulatory.presenters import timeline
from regulatory.selectors import clocks_of, incident_clocks, obligations_due_within, open_questions
from regulatory.services.assessments import (
    assessment_changes,
    assessment_latest,
    assessment_prefill,
    assessment_record,
)
from regulatory.services.catalogue import catalogue_get, obligations_compute, obligations_document
from regulatory.services.filings import filing_record, filing_signoff_request, filing_signoffs, signoff_possible
from regulatory.services.profile import profile_current, profile_publish
from webapp.api.actors import actor_from_request
from webapp.countdown import countdown
from webapp.errors import DomainError
from webapp.pagination import html_page
from webapp.permissions import require_any

VIEW = "webapp.view_incidents"
ASSESSORS = ("webapp.sign_filings", "webapp.command_incidents")
FILERS = ("webapp.sign_filings",)
PROFILE_EDITORS = ("regulatory.add_organisationprofile",)
INACTIVE = ("not_required", "not_in_force")  # folded away on the page: the rules that do not apply


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


def _facts_form(request: HttpRequest, incident: Incident, data: Any = None) -> FactsForm:
    return FactsForm(
        data,
        base=assessment_prefill(incident),
        catalogue=catalogue_get(),
        decided_by=request.user.get_username(),
        now=timezone.now(),
    )


def _page(
    request: HttpRequest,
    incident: Incident,
    *,
    form: FactsForm | None = None,
    preview: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    clocks = incident_clocks(incident, now=now)
    history = Assessment.objects.filter(incident=incident).defer("obligations").order_by("-version")
    assessments = list(history[:20])
    latest, previous = [*assessments, None, None][:2]
    can_assess = any(request.user.has_perm(p) for p in ASSESSORS)
    rows = [
        {"clock": c, "countdown": countdown(c.state.seconds_left), "signoffs": filing_signoffs(c.obligation)}
        for c in clocks
        if c.state.state not in INACTIVE
    ]
    inactive = [c for c in clocks if c.state.state in INACTIVE]
    regulators = [
        {
            "notification": n,
            "held": held_for_signoff(n),
            "signoffs": regulator_signoffs(n),
            "ready": regulator_signoff(n),
        }
        for n in Notification.objects.filter(incident=incident, audience=REGULATOR).select_related("party")
    ]
    questions = open_questions(clocks)
    if can_assess and form is None:
        form = _facts_form(request, incident)
    return render(
        request,
        "regulatory/incident.html",
        {
            "incident": incident,
            "rows": rows,
            "inactive": inactive,
            "questions": questions,
            "layout": form.layout({q.name for q in questions}) if form is not None and can_assess else None,
            "timeline": timeline(clocks, now),
            "assessments": assessments,
            "latest": latest,
            "facts_changes": facts_diff(previous.facts, latest.facts) if latest and previous else [],
            "profile": profile_current(),
            "form": form if can_assess else None,
            "preview": preview,
            "regulators": regulators,
            "can_assess": can_assess,
            "can_file": any(request.user.has_perm(p) for p in FILERS),
            "can_request_signoff": can_assess and signoff_possible(request.user),
        },
        status=status,
    )


@login_required
@require_GET
def regulatory_incident(request: HttpRequest, reference: str) -> HttpResponse:
    require_any(request, VIEW)
    return _page(request, _incident(reference))


@login_required
@require_POST
def regulatory_assess(request: HttpRequest, reference: str) -> HttpResponse:
    """The guided form: "preview" shows what would change (facts and obligations) without recording it;
    "record" records the new version. Errors are shown on their fields, nothing is stored."""
    require_any(request, *ASSESSORS)
    incident = _incident(reference)
    form = _facts_form(request, incident, request.POST)
    if not form.is_valid():
        messages.error(request, "Not recorded: correct the fields marked below.")
        return _page(request, incident, form=form, status=400)
    facts = form.facts()
    latest = assessment_latest(incident)
    if "preview" in request.POST:
        document = obligations_document(obligations_compute(raw_facts=facts, as_of=timezone.now()))
        preview = {
            "facts": facts_diff(latest.facts if latest else None, facts),
            "obligations": assessment_changes(latest.obligations if latest else None, document),
        }
        return _page(request, incident, form=form, preview=preview)
    try:
        assessment = assessment_record(
            incident=incident, facts=facts, actor=actor_from_request(request), note=form.cleaned_data.get("note", "")
        )
    except DomainError as exc:
        messages.error(request, f"{exc.code}: {exc.message}")
        return _page(request, incident, form=form, status=400)
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
@require_POST
def regulatory_regulator_message(
    request: HttpRequest, reference: str, notification_id: int, action: str
) -> HttpResponse:
    """A message to a regulator: ask for legal sign-off of its text, or send it once signed off."""
    require_any(request, *ASSESSORS)
    incident = _incident(reference)
    actor = actor_from_request(request)
    try:
        if action == "signoff":
            notification_signoff_request(
                notification_id=notification_id,
                user=request.user,
                actor=actor,
                reason=request.POST.get("reason", "") or "message to a regulator",
            )
            messages.success(request, "Sign-off of the message's text requested from legal/DPO.")
        elif action == "send":
            notification_release(notification_id=notification_id, user=request.user, actor=actor)
            messages.success(request, "Message to the regulator approved for sending.")
        else:
            raise Http404("no such action")
    except DomainError as exc:
        messages.error(request, f"{exc.code}: {exc.message}")
    return redirect("regulatory-incident", incident.reference)


@login_required
@require_GET
def regulatory_due(request: HttpRequest) -> HttpResponse:
    require_any(request, VIEW)
    now = timezone.now()
    page = html_page(request, obligations_due_within(now=now, hours=72))
    rows = [{"clock": c, "countdown": countdown(c.state.seconds_left)} for c in clocks_of(page.items, now=now)]
    return render(request, "regulatory/due.html", {"rows": rows, "now": now, "page": page})


def _profile_facts(profile: OrganisationProfile) -> dict[str, Any]:
    return {"deadline_tz": profile.deadline_tz, "entities": profile.entities}


@login_required
@require_http_methods(["GET", "POST"])
def regulatory_profile(request: HttpRequest) -> HttpResponse:
    """The organisation profile: administrators publish a new version (audited); everyone who sees
    incidents reads it and its history."""
    require_any(request, VIEW, *PROFILE_EDITORS)
    can_edit = any(request.user.has_perm(p) for p in PROFILE_EDITORS)
    current = profile_current()
    base = {"deadline_tz": current.deadline_tz, "entities": current.entities} if current else {"entities": []}
    form = ProfileForm(request.POST if request.method == "POST" else None, profile=base, catalogue=catalogue_get())
    status = 200
    if request.method == "POST":
        require_any(request, *PROFILE_EDITORS)
        if form.is_valid():
            try:
                published = profile_publish(
                    entities=form.cleaned_data["entities"],
                    deadline_tz=form.cleaned_data["deadline_tz"],
                    actor=actor_from_request(request),
                    note=form.cleaned_data.get("note", ""),
                )
            except DomainError as exc:
                field = form.where.get(str(exc.details.get("field", "")))
                form.add_error(field, f"{exc.code}: {exc.message}")
            else:
                messages.success(
                    request, f"Organisation profile v{published.version} published; open incidents follow it."
                )
                return redirect("regulatory-profile")
        status = 400
    versions = list(OrganisationProfile.objects.order_by("-version")[:20])
    changes = [(newer, facts_diff(_profile_facts(older), _profile_facts(newer))) for newer, older in pairwise(versions)]
    return render(
        request,
        "regulatory/profile.html",
        {"form": form if can_edit else None, "current": current, "versions": versions, "changes": changes},
        status=status,
    )
