"""Incident pages: the list, reporting a compromise, the incident page (live), the commander's actions."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.actors import Actor
from incidents.cloudevents import CompromiseEvent, KeyReference
from incidents.errors import IncidentNotFound
from incidents.models import Incident, Severity
from incidents.presenters import STEPS, incident_detail
from incidents.selectors import (
    LIST_SCOPES,
    commanders,
    incident_filters_parse,
    incidents_find,
    list_default_scope,
    list_scope_filter,
)
from incidents.services import incidents as services
from incidents.services import ownership
from incidents.services.closure import closure_by_check
from incidents.services.signals import signal_receive
from keyvault.models import ManagedKey
from keyvault.selectors import keys_inventory
from webapp.api.actors import actor_from_request
from webapp.errors import DomainError
from webapp.pagination import html_page
from webapp.permissions import require_any
from webapp.services.staff_mail import staff_mail_undelivered


@login_required
@require_GET
def incident_list(request: HttpRequest) -> HttpResponse:
    require_any(request, "webapp.view_incidents")
    filters = incident_filters_parse(request.GET, strict=False)
    scope = request.GET.get("scope", "")
    if scope not in LIST_SCOPES:
        scope = list_default_scope(request.user)
    found = list_scope_filter(incidents_find(filters), scope=scope, user=request.user)
    if request.GET.get("sort") or scope != "closed":  # closed: by closing time unless a sort is asked for
        found = found.order_by(*filters.ordering)
    context = {
        "page": html_page(request, found),
        "filters": filters,
        "scope": scope,
        "scopes": LIST_SCOPES.items(),
        "severity": filters.severity,
        "severities": Severity.choices,
        "steps": Incident.Step.choices,
        "sorts": [
            ("-opened_at", "newest first"),
            ("opened_at", "oldest first"),
            ("-severity", "most severe first"),
            ("severity", "least severe first"),
            ("reference", "reference"),
        ],
    }
    return render(request, "incidents/list.html", context)


def _timeline_before(request: HttpRequest) -> int | None:
    try:
        return int(request.GET["timeline_before"])
    except (KeyError, ValueError):
        return None


def _page_context(request: HttpRequest, reference: str) -> dict[str, object]:
    try:
        incident = services.incident_get(reference)
    except IncidentNotFound:
        raise Http404("no such incident") from None
    detail = incident_detail(incident, timeline_before=_timeline_before(request))
    step_index = STEPS.index(incident.step) if incident.step in STEPS else 0
    return {
        "incident": incident,
        # What the Actions block depends on: the live refresh re-renders it when this changes.
        "actions_version": f"{incident.status}:{incident.step}:{int(bool(incident.attention))}:{incident.commander_id}",
        "detail": detail,
        "steps": [(step, i < step_index, i == step_index) for i, step in enumerate(STEPS)],
        "can_command": request.user.has_perm("webapp.command_incidents"),
        "undelivered_mail": list(staff_mail_undelivered(incident=incident.reference)[:10]),
        "severities": Severity.choices,
        "timeline_before": _timeline_before(request),
    }


@login_required
@require_GET
def incident_page(request: HttpRequest, reference: str) -> HttpResponse:
    require_any(request, "webapp.view_incidents")
    return render(request, "incidents/page.html", _with_actions(_page_context(request, reference)))


def _with_actions(context: dict[str, object]) -> dict[str, object]:
    """What the commander's Actions block needs (the key picker, the closure checklist at Close)."""
    incident = context["incident"]
    assert isinstance(incident, Incident)
    if context["can_command"] and incident.status == Incident.Status.OPEN:
        context["inventory"] = keys_inventory(state="active")[:300]
        context["commanders"] = commanders()
        if incident.step == Incident.Step.CLOSE:
            context["closure"] = closure_by_check(incident)
    return context


@login_required
@require_GET
def incident_live(request: HttpRequest, reference: str) -> HttpResponse:
    """The live part of the incident page, polled every few seconds; ``?part=actions``: the Actions block,
    fetched by the page when the live part says it changed (the step moved, the incident closed)."""
    require_any(request, "webapp.view_incidents")
    context = _page_context(request, reference)
    if request.GET.get("part") == "actions":
        return render(request, "incidents/_actions.html", _with_actions(context))
    return render(request, "incidents/_live.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def incident_report(request: HttpRequest) -> HttpResponse:
    require_any(request, "webapp.report_signals")
    if request.method == "POST":
        references = [KeyReference("id", value) for value in request.POST.getlist("keys")]
        fingerprint = request.POST.get("fingerprint", "").strip()
        if fingerprint:
            references.append(KeyReference("fingerprint", fingerprint))
        if not references:
            messages.error(request, "Name at least one key (pick it, or paste its fingerprint).")
        else:
            event = CompromiseEvent(
                id=str(uuid.uuid4()),
                source=f"ui:{request.user.get_username()}",
                type="sequester.manual_report",
                time=timezone.now(),
                keys=references,
                severity=request.POST.get("severity", Severity.HIGH)
                if request.POST.get("severity") in Severity.values
                else Severity.HIGH,
                evidence={"description": request.POST.get("description", "")[:4000]},
                title=request.POST.get("title", "")[:300],
            )
            try:
                result = signal_receive(
                    event=event, via="ui", actor=actor_from_request(request), commander=request.user
                )
            except DomainError as exc:
                messages.error(request, f"{exc.message} ({exc.code})")
            else:
                messages.success(request, f"Contained: {len(result.suspended)} key(s) suspended.")
                return redirect("incident-page", reference=result.incident.reference)
    context = {"inventory": keys_inventory(state="active")[:500], "severities": Severity.choices}
    return render(request, "incidents/report.html", context)


@login_required
@require_POST
def incident_action(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    require_any(request, "webapp.respond_to_incidents" if action == "note" else "webapp.command_incidents")
    actor = actor_from_request(request)
    try:
        done = _incident_action_run(request, reference, action, actor)
    except (ValueError, DomainError) as exc:
        messages.error(request, f"Not done: {getattr(exc, 'message', str(exc))}")
    else:
        messages.success(request, done)
    return redirect("incident-page", reference=reference)


def _incident_action_run(request: HttpRequest, reference: str, action: str, actor: Actor) -> str:
    """Carry out one of the commander's actions; returns what happened, in a sentence for the page."""
    if action == "keys":
        added = services.incident_add_keys(
            reference=reference,
            key_ids=[uuid.UUID(k) for k in request.POST.getlist("keys")],
            actor=actor,
            reason=request.POST.get("reason", "") or "added by the commander",
        )
        if not added:
            return "No key added: the keys chosen were already part of this incident."
        aliases = ", ".join(ManagedKey.objects.filter(id__in=added).order_by("alias").values_list("alias", flat=True))
        return f"Added and contained (suspended): {aliases}."
    if action == "awareness":
        aware_at = datetime.fromisoformat(request.POST.get("aware_at", ""))
        if timezone.is_naive(aware_at):
            aware_at = timezone.make_aware(aware_at, timezone.get_current_timezone())
        incident = services.incident_record_awareness(reference=reference, aware_at=aware_at, actor=actor)
        moment = incident.aware_at or aware_at
        return f"Awareness recorded: {moment:%Y-%m-%d %H:%M} UTC; the regulatory clocks count from it."
    if action == "severity":
        incident = services.incident_change_severity(
            reference=reference,
            severity=request.POST.get("severity", ""),
            actor=actor,
            reason=request.POST.get("reason", ""),
        )
        return f"Severity is now {incident.get_severity_display()}."
    if action == "retire":
        key = services.incident_key_retire(
            reference=reference,
            key_id=uuid.UUID(request.POST.get("key", "")),
            actor=actor,
            reason=request.POST.get("reason", ""),
        )
        return f"{key.alias} is retired without a replacement; the reason is on the timeline."
    if action == "note":
        services.incident_add_note(reference=reference, text=request.POST.get("text", ""), actor=actor)
        return "Note added to the timeline."
    if action in ("request_close", "retry"):
        waivers = {
            name.removeprefix("waiver_"): request.POST.get(name, "")
            for name in request.POST
            if name.startswith("waiver_") and request.POST.get(name, "").strip()
        }
        services.incident_advance(
            reference=reference, action=action, choice=request.POST.get("choice", ""), actor=actor, waivers=waivers
        )
        if action == "retry":
            return "The stalled step is being retried; the steps above show when it moves on."
        return (
            "Closure requested: a “Close the incident” approval is open for the approvers"
            + (f" ({len(waivers)} waiver(s) recorded in it)" if waivers else "")
            + "; the incident closes once it is approved."
        )
    raise Http404("no such action")


@login_required
@require_POST
def incident_assign(request: HttpRequest, reference: str) -> HttpResponse:
    """Take the incident (no ``commander`` given) or give it to another commander."""
    require_any(request, "webapp.command_incidents")
    username = request.POST.get("commander", "") or request.user.get_username()
    try:
        incident = ownership.incident_assign_commander(
            reference=reference,
            commander=username,
            by=request.user,
            actor=actor_from_request(request),
            reason=request.POST.get("reason", ""),
        )
    except DomainError as exc:
        messages.error(request, f"Commander not changed: {exc.message}")
    else:
        who = "you" if username == request.user.get_username() else username
        messages.success(request, f"{incident.reference} is now commanded by {who}.")
    return redirect("incident-page", reference=reference)
