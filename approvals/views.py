"""Approval pages: the inbox, a request (exact payload, decisions, decide with step-up), account security."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from approvals.errors import RequestNotFound
from approvals.models import ApprovalRequest, TotpDevice, WebAuthnCredential
from approvals.presenters import request_detail
from approvals.selectors import requests_awaiting
from approvals.services import decisions, stepup
from webapp.api.actors import actor_from_request
from webapp.errors import DomainError
from webapp.permissions import require_any


def _person(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # login_required
    return request.user


@login_required
@require_GET
def approval_inbox(request: HttpRequest) -> HttpResponse:
    require_any(request, "webapp.view_incidents")
    context = {
        "awaiting": requests_awaiting(request.user)[:100],
        "mine": ApprovalRequest.objects.filter(requested_by=_person(request)).order_by("-requested_at")[:50],
        "recent": ApprovalRequest.objects.exclude(status=ApprovalRequest.Status.PENDING)
        .select_related("requested_by")
        .order_by("-closed_at")[:50],
    }
    return render(request, "approvals/inbox.html", context)


@login_required
@require_GET
def approval_page(request: HttpRequest, request_id: UUID) -> HttpResponse:
    found = ApprovalRequest.objects.select_related("policy", "requested_by").filter(id=request_id).first()
    if found is None or not (
        request.user.has_perm("webapp.view_incidents") or found.requested_by_id == request.user.pk
    ):
        raise Http404("no such request")
    context = {
        "req": found,
        "detail": request_detail(found, viewer=request.user),
        "has_authenticator": WebAuthnCredential.objects.filter(user=_person(request)).exists(),
        "has_totp": TotpDevice.objects.filter(user=_person(request), confirmed_at__isnull=False).exists(),
    }
    return render(request, "approvals/request.html", context)


@login_required
@require_POST
def approval_decide_with_totp(request: HttpRequest, request_id: UUID) -> HttpResponse:
    """The no-JavaScript path: issue the document and decide with a TOTP code in one step."""
    try:
        challenge, _ = decisions.decision_challenge_issue(
            request_id=request_id,
            approver=request.user,
            verdict=request.POST.get("decision", ""),
            reason=request.POST.get("reason", ""),
            role=request.POST.get("role") or None,
        )
        decisions.approval_decide(
            challenge_id=challenge.id,
            approver=request.user,
            actor=actor_from_request(request),
            totp=request.POST.get("totp", ""),
        )
    except RequestNotFound:
        raise Http404("no such request") from None
    except DomainError as exc:
        messages.error(request, f"Not recorded: {exc.message} ({exc.code})")
    else:
        messages.success(request, "Your decision is recorded and signed.")
    return redirect("approval-page", request_id=request_id)


@login_required
@require_http_methods(["GET", "POST"])
def account_security(request: HttpRequest) -> HttpResponse:
    context: dict[str, object] = {
        "credentials": WebAuthnCredential.objects.filter(user=_person(request)).order_by("created_at")
    }
    if request.method == "POST":
        try:
            if request.POST.get("step") == "totp-begin":
                secret, uri, svg = stepup.totp_setup_begin(user=request.user)
                context.update({"totp_secret": secret, "totp_uri": uri, "totp_qr": svg})
            elif request.POST.get("step") == "totp-confirm":
                stepup.totp_setup_confirm(
                    user=request.user, code=request.POST.get("code", ""), actor=actor_from_request(request)
                )
                messages.success(request, "TOTP is set up.")
                return redirect("account-security")
        except DomainError as exc:
            messages.error(request, f"{exc.message} ({exc.code})")
    context["totp_confirmed"] = TotpDevice.objects.filter(user=_person(request), confirmed_at__isnull=False).exists()
    return render(request, "approvals/security.html", context)
