"""Thin views of the base UI and the health endpoint."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from webapp.health import HealthReport, health_snapshot, stack_health
from webapp.home import home_groups
from webapp.notices import home_notices
from webapp.search import QUERY_MAX, QUERY_MIN, search_all, search_normalise


def _health_json(report: HealthReport, *, with_detail: bool) -> dict[str, object]:
    checks: dict[str, dict[str, object]] = {}
    for check in report.checks:
        entry: dict[str, object] = {"status": check.status, "latency_ms": check.latency_ms}
        if with_detail and check.detail:
            entry["detail"] = check.detail
        checks[check.name] = entry
    return {"status": "ok" if report.ok else "degraded", "down": report.down, "checks": checks}


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Public for load balancers; error details only for signed-in users."""
    report = stack_health()
    body = _health_json(report, with_detail=request.user.is_authenticated)
    return JsonResponse(body, status=200 if report.ok else 503)


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Each person lands on their work: a group of sections per role they hold, a compact stack line."""
    context = {
        "health": health_snapshot(),  # the background refresher's latest: the page never waits on a probe
        "notices": home_notices(request.user),
        "groups": home_groups(request.user, timezone.now()),
    }
    return render(request, "home.html", context)


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """Incidents, keys and parties in one page, each as far as this person may see them."""
    query = search_normalise(request.GET.get("q", ""))
    results = search_all(query, request.user) if query else []
    context = {"q": request.GET.get("q", "")[:QUERY_MAX], "query": query, "results": results, "minimum": QUERY_MIN}
    return render(request, "search.html", context)
