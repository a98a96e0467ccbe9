"""Approval pages: the inbox, a request (exact payload, decisions, decide with step-up), account security."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from approvals.actions import FACTOR_RECOVERY
from approvals.errors import RequestNotFound
from approvals.models import ApprovalRequest, FactorChange, TotpDevice, WebAuthnCredential
from approvals.presenters import request_detail
from approvals.selectors import requests_awaiting
from approvals.services import decisions, factors
from approvals.wording import refusal_words, role_label
from webapp.api.actors import actor_from_request
from webapp.errors import DomainError
from webapp.oidc.reauthentication import reauthenticated_at, reauthentication_used
from webapp.pagination import html_page
from webapp.permissions import require_any
from webapp.services.staff_mail import staff_mail_undelivered


def _person(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # login_required
    return request.user


@login_required
@require_GET
def approval_inbox(request: HttpRequest) -> HttpResponse:
    require_any(request, "webapp.view_incidents")
    awaiting = html_page(request, requests_awaiting(request.user), param="awaiting_page")
    mine = html_page(
        request,
        ApprovalRequest.objects.filter(requested_by=_person(request))
        .select_related("requested_by")
        .order_by("-requested_at", "-id"),
        param="mine_page",
    )
    recent = html_page(
        request,
        ApprovalRequest.objects.exclude(status=ApprovalRequest.Status.PENDING)
        .select_related("requested_by")
        .order_by("-closed_at", "-id"),
        param="recent_page",
    )
    context: dict[str, object] = {"awaiting": awaiting.items, "mine": mine.items, "recent": recent.items}
    context |= {"awaiting_page": awaiting, "mine_page": mine, "recent_page": recent}
    # Mail to the approvers of the requests this person waits on, that did not go out.
    context["undelivered_mail"] = list(
        staff_mail_undelivered(
            subject_type="approval_request",
            subject_ids=[r.id for r in mine.items if r.status == ApprovalRequest.Status.PENDING],
        )[:10]
    )
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
        "undelivered_mail": list(
            staff_mail_undelivered(subject_type="approval_request", subject_ids=[found.id])[:10]
            if found.status == ApprovalRequest.Status.PENDING
            else []
        ),
    }
    return render(request, "approvals/request.html", context)


@login_required
@require_POST
def approval_decide_with_totp(request: HttpRequest, request_id: UUID) -> HttpResponse:
    """The no-JavaScript path: issue the document and decide with a TOTP code in one step."""
    verdict = request.POST.get("decision", "")
    try:
        challenge, _ = decisions.decision_challenge_issue(
            request_id=request_id,
            approver=request.user,
            verdict=verdict,
            reason=request.POST.get("reason", ""),
            role=request.POST.get("role") or None,
        )
        decision = decisions.approval_decide(
            challenge_id=challenge.id,
            request_id=request_id,
            approver=request.user,
            actor=actor_from_request(request),
            totp=request.POST.get("totp", ""),
        )
    except RequestNotFound:
        raise Http404("no such request") from None
    except DomainError as exc:
        words = refusal_words(exc.code)
        messages.error(request, f"Not recorded: {words if words != exc.code else f'{exc.message} ({exc.code}).'}")
    else:
        messages.success(
            request,
            f"Recorded: you decided to {decision.verdict} as {role_label(decision.role)}, signed with your TOTP code.",
        )
    return redirect("approval-page", request_id=request_id)


def _remember_return(request: HttpRequest) -> None:
    """Where the person came from (e.g. the request they were about to decide): back there once enrolled."""
    target = request.GET.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        request.session[factors.RETURN_SESSION_KEY] = target


def _proven_change(request: HttpRequest) -> FactorChange | None:
    """The factor change this session proved and has not used yet (None: prove first)."""
    change_id = request.session.get(factors.SESSION_KEY)
    if not change_id:
        return None
    return FactorChange.objects.filter(
        id=change_id,
        user=_person(request),
        proven_at__isnull=False,
        consumed_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).first()


def _security_step(request: HttpRequest, step: str, context: dict[str, object]) -> bool:
    """Carry out one posted step of the page; True when the page should reload (redirect)."""
    user, actor = _person(request), actor_from_request(request)
    if step in ("prove-totp", "prove-password", "prove-identity-provider"):
        begun, _ = factors.factor_change_begin(user=user)
        factors.factor_change_prove(
            change_id=begun.id,
            user=user,
            actor=actor,
            totp=request.POST.get("code") if step == "prove-totp" else None,
            password=request.POST.get("password") if step == "prove-password" else None,
            reauthenticated_at=reauthenticated_at(request) if step == "prove-identity-provider" else None,
        )
        request.session[factors.SESSION_KEY] = str(begun.id)
        reauthentication_used(request)
        messages.success(request, "Confirmed: you may now add or replace a factor (for 10 minutes).")
        return True
    if step == "recovery":
        opened = factors.factor_recovery_request(
            user=user, password=request.POST.get("password", ""), reason=request.POST.get("reason", ""), actor=actor
        )
        messages.success(request, f"Recovery requested ({opened.id}): two approvers must agree; you are told by mail.")
        return True
    change = _proven_change(request)
    change_id = change.id if change else None
    if step == "totp-begin":
        secret, uri, svg = factors.totp_setup_begin(user=user, change_id=change_id)
        context.update({"totp_secret": secret, "totp_uri": uri, "totp_qr": svg})
        return False
    if step == "totp-confirm":
        factors.totp_setup_confirm(user=user, change_id=change_id, code=request.POST.get("code", ""), actor=actor)
        request.session.pop(factors.SESSION_KEY, None)
        messages.success(request, "TOTP is set up: you can now sign decisions with a TOTP code where allowed.")
        return True
    return False


@login_required
@require_http_methods(["GET", "POST"])
def account_security(request: HttpRequest) -> HttpResponse:
    """Second factors: see them; prove it is you (a factor, or the password with none); then add or
    replace one; or, having lost them all, ask for a recovery."""
    user = _person(request)
    context: dict[str, object] = {
        "credentials": WebAuthnCredential.objects.filter(user=user).order_by("created_at"),
    }
    _remember_return(request)
    if request.method == "POST":
        try:
            step = request.POST.get("step", "")
            if _security_step(request, step, context):
                if step == "totp-confirm" and request.session.get(factors.RETURN_SESSION_KEY):
                    return redirect(request.session.pop(factors.RETURN_SESSION_KEY))
                return redirect("account-security")
        except DomainError as exc:
            messages.error(request, f"{exc.message} ({exc.code})")
    change = _proven_change(request)
    context.update(
        {
            "totp_confirmed": TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists(),
            "has_factor": factors.user_has_factor(user),
            "accepts": factors.accepted_proofs(user),
            "reauthenticated": reauthenticated_at(request) is not None,
            "change": change,
            "return_to": request.session.get(factors.RETURN_SESSION_KEY, ""),
            "recovery_pending": ApprovalRequest.objects.filter(
                action=FACTOR_RECOVERY, status=ApprovalRequest.Status.PENDING, subject_id=user.get_username()
            ).first(),
        }
    )
    return render(request, "approvals/security.html", context)
