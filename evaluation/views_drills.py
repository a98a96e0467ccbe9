"""The drills page: scheduled and on-demand exercises with their scorecards, the commander's button,
and tabletop exercises held without the engine."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from evaluation.models import Drill, TabletopExercise
from evaluation.services import drills
from incidents.models import Severity
from webapp.api.actors import actor_from_request
from webapp.errors import DomainError
from webapp.permissions import require_any


@login_required
@require_GET
def drills_page(request: HttpRequest) -> HttpResponse:
    require_any(request, "webapp.view_incidents", "webapp.view_audit")
    rows = [(d, drills.drill_scorecard(d)) for d in Drill.objects.select_related("incident")[:50]]
    return render(
        request,
        "evaluation/drills.html",
        {
            "rows": rows,
            "tabletops": TabletopExercise.objects.all()[:50],
            "schedule": settings.SEQUESTER_DRILL_SCHEDULE,
            "can_start": request.user.has_perm("webapp.command_incidents"),
            "can_record": request.user.has_perm("webapp.command_incidents")
            or request.user.has_perm("webapp.own_control"),
            "severities": Severity.choices,
        },
    )


@login_required
@require_POST
def drill_start_view(request: HttpRequest) -> HttpResponse:
    require_any(request, "webapp.command_incidents")
    try:
        drill = drills.drill_start(
            actor=actor_from_request(request),
            via=Drill.Via.UI,
            started_by=request.user.get_username(),
            severity=request.POST.get("severity", Severity.HIGH),
            commander=request.user,
        )
    except DomainError as exc:
        messages.error(request, f"Not started: {exc.message}")
        return redirect("drills-page")
    messages.success(request, f"Exercise {drill.incident.reference if drill.incident else ''} started on canary keys.")
    return redirect("incident-page", reference=drill.incident.reference) if drill.incident else redirect("drills-page")


@login_required
@require_POST
def tabletop_record_view(request: HttpRequest) -> HttpResponse:
    require_any(request, "webapp.command_incidents", "webapp.own_control")
    try:
        drills.tabletop_record(
            held_on=date.fromisoformat(request.POST.get("held_on", "")),
            scenario=request.POST.get("scenario", ""),
            participants=request.POST.get("participants", ""),
            findings=request.POST.get("findings", ""),
            actor=actor_from_request(request),
        )
    except (ValueError, DomainError) as exc:
        messages.error(request, f"Not recorded: {getattr(exc, 'message', str(exc))}")
    else:
        messages.success(request, "Tabletop exercise recorded.")
    return redirect("drills-page")
