"""The playbook page: the procedure as it runs, the version in force, its history, proposing a version."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from evaluation.documents import playbook_pdf
from evaluation.models import PlaybookVersion
from evaluation.services import playbook
from webapp.api.actors import actor_from_request
from webapp.errors import DomainError
from webapp.permissions import require_any

READERS = ("webapp.view_incidents", "webapp.view_audit")


def _version(number: str) -> PlaybookVersion | None:
    if number == "live":
        return None
    version = PlaybookVersion.objects.select_related("owner", "approval", "proposed_by").filter(number=number).first()
    if version is None:
        raise Http404("no such playbook version")
    return version


@login_required
@require_GET
def playbook_page(request: HttpRequest) -> HttpResponse:
    require_any(request, *READERS)
    status = playbook.playbook_status()
    content = playbook.procedure_content()
    versions = list(PlaybookVersion.objects.select_related("owner", "proposed_by", "approval").order_by("-number"))
    return render(
        request,
        "evaluation/playbook.html",
        {
            "status": status,
            "procedure": playbook.procedure_html(content),
            "title": content["title"],
            "versions": [(v, playbook.version_status(v, status.in_force)) for v in versions],
            "can_propose": request.user.has_perm("webapp.own_control"),
            "owners": get_user_model()
            .objects.filter(is_active=True, groups__name__in=["ciso", "security_lead"])
            .distinct()
            .order_by("username"),
        },
    )


@login_required
@require_GET
def playbook_download(request: HttpRequest, number: str, fmt: str) -> HttpResponse:
    require_any(request, *READERS)
    version = _version(number)
    name = f"playbook-{'v' + str(version.number) if version else 'live'}"
    if fmt == "md":
        text = version.markdown if version else playbook.procedure_markdown(playbook.procedure_content())
        response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.md"'
        return response
    if fmt == "pdf":
        response = HttpResponse(playbook_pdf(version), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
        return response
    raise Http404("md or pdf")


@login_required
@require_POST
def playbook_propose(request: HttpRequest) -> HttpResponse:
    require_any(request, "webapp.own_control")
    owner = get_user_model().objects.filter(pk=request.POST.get("owner") or 0).first()
    try:
        version = playbook.playbook_propose(
            owner=owner,
            change_summary=request.POST.get("change_summary", ""),
            user=request.user,
            actor=actor_from_request(request),
        )
    except DomainError as exc:
        messages.error(request, f"Not done: {exc.message}")
    else:
        messages.success(request, f"Version {version.number} waits for its playbook_publish approval.")
    return redirect("playbook-page")
