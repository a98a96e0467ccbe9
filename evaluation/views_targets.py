"""The targets page: response-time targets per severity (data), changed by the control's owners."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from evaluation.models import Measure
from evaluation.services.targets import SEVERITIES, duration_text, target_set, targets_table
from webapp.api.actors import actor_from_request
from webapp.errors import DomainError
from webapp.permissions import require_any


@login_required
@require_http_methods(["GET", "POST"])
def targets_page(request: HttpRequest) -> HttpResponse:
    require_any(request, "webapp.view_incidents", "webapp.view_audit")
    if request.method == "POST":
        require_any(request, "webapp.own_control")
        try:
            target_set(
                measure=request.POST.get("measure", ""),
                severity=request.POST.get("severity", ""),
                seconds=int(request.POST.get("seconds", "0")),
                actor=actor_from_request(request),
            )
        except (ValueError, DomainError) as exc:
            messages.error(request, f"Not done: {getattr(exc, 'message', str(exc))}")
        else:
            messages.success(request, "Target changed (audited).")
        return redirect("targets-page")
    table = targets_table()
    rows = [
        (m, [(s, table.get((m.value, s)), duration_text(table.get((m.value, s)))) for s in SEVERITIES]) for m in Measure
    ]
    return render(
        request,
        "evaluation/targets.html",
        {"rows": rows, "severities": SEVERITIES, "can_change": request.user.has_perm("webapp.own_control")},
    )
