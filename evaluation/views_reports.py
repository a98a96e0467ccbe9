"""The auditor's page: a period's report (signed PDF kept, OSCAL and CSV on demand), the control owner's
attestation, and recorded random samples whose case files are exported."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from audit.services import audit_record
from evaluation.models import AuditSample, PeriodReport
from evaluation.services import reports
from webapp.api.actors import actor_from_request
from webapp.errors import DomainError
from webapp.permissions import require_any

READERS = ("webapp.view_audit", "webapp.export_case_files")
TYPES = {"pdf": "application/pdf", "oscal": "application/json", "csv": "text/csv; charset=utf-8"}
SUFFIX = {"pdf": "pdf", "oscal": "oscal.json", "csv": "csv"}


def _period(request: HttpRequest) -> tuple[date, date]:
    today = timezone.localdate()
    since = date.fromisoformat(request.POST.get("since") or request.GET.get("since") or str(today - timedelta(days=90)))
    until = date.fromisoformat(request.POST.get("until") or request.GET.get("until") or str(today))
    return since, until


@login_required
@require_GET
def reports_page(request: HttpRequest) -> HttpResponse:
    require_any(request, *READERS)
    today = timezone.localdate()
    return render(
        request,
        "evaluation/reports.html",
        {
            "reports": PeriodReport.objects.select_related("attestation").defer("pdf")[:30],
            "samples": AuditSample.objects.all()[:30],
            "since": today - timedelta(days=90),
            "until": today,
            "can_attest": request.user.has_perm("webapp.own_control"),
        },
    )


@login_required
@require_POST
def report_export(request: HttpRequest) -> HttpResponse:
    require_any(request, *READERS)
    fmt = request.POST.get("format", "pdf")
    try:
        since, until = _period(request)
        body = reports.period_export(since=since, until=until, fmt=fmt, actor=actor_from_request(request))
    except (ValueError, DomainError) as exc:
        messages.error(request, f"Not done: {getattr(exc, 'message', str(exc))}")
        return redirect("reports-page")
    response = HttpResponse(body, content_type=TYPES.get(fmt, "application/octet-stream"))
    response["Content-Disposition"] = f'attachment; filename="cek19-{since}-{until}.{SUFFIX.get(fmt, "bin")}"'
    return response


@login_required
@require_GET
def report_download(request: HttpRequest, report_id: str) -> HttpResponse:
    require_any(request, *READERS)
    report = PeriodReport.objects.filter(id=report_id).first() if _uuid(report_id) else None
    if report is None:
        raise Http404("no such report")
    actor = actor_from_request(request)
    audit_record(
        action="report.downloaded",
        actor=actor,
        subject_type="period",
        subject_id=f"{report.since}..{report.until}",
        data={"report": str(report.id), "sha256": report.sha256},
    )
    response = HttpResponse(bytes(report.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="cek19-{report.since}-{report.until}.pdf"'
    return response


def _uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@login_required
@require_POST
def report_attest(request: HttpRequest, report_id: str) -> HttpResponse:
    require_any(request, "webapp.own_control")
    report = PeriodReport.objects.filter(id=report_id).first() if _uuid(report_id) else None
    if report is None:
        raise Http404("no such report")
    try:
        approval = reports.period_report_attest_request(
            report=report, user=request.user, actor=actor_from_request(request)
        )
    except DomainError as exc:
        messages.error(request, f"Not done: {exc.message}")
        return redirect("reports-page")
    return redirect("approval-page", approval.pk)


@login_required
@require_POST
def sample_draw(request: HttpRequest) -> HttpResponse:
    require_any(request, "webapp.export_case_files")
    try:
        since, until = _period(request)
        sample = reports.audit_sample_draw(
            since=since,
            until=until,
            size=int(request.POST.get("size", "5")),
            user=request.user,
            actor=actor_from_request(request),
        )
    except (ValueError, DomainError) as exc:
        messages.error(request, f"Not drawn: {getattr(exc, 'message', str(exc))}")
    else:
        messages.success(request, f"Drawn {len(sample.chosen)} of {len(sample.population)}; their case files render.")
    return redirect("reports-page")
