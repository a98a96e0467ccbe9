"""The decrypt-access page of a compromised key: ask for a ``compromised_key_decrypt_access`` approval
(justification, incident, affected system, duration, budget) and see the grants in force and the
requests pending. The rules stay where they are: the request is opened by
``approvals.services.requests.approval_request_open`` (its payload checked against the policy's limits),
the grant is made by ``keyvault.services.grants`` when the quorum approves."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from approvals import policies
from approvals.models import ApprovalRequest
from approvals.policies import policy_current
from approvals.services.requests import approval_request_open
from incidents.models import Incident, IncidentKey
from keyvault import selectors
from keyvault.errors import KeyNotFound
from keyvault.models import DecryptGrant, ManagedKey
from keyvault.states import KeyState
from webapp.api.actors import actor_from_request
from webapp.errors import DomainError
from webapp.permissions import require_any

ACTION = policies.COMPROMISED_KEY_DECRYPT_ACCESS


def _whole_number(text: str, field: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{field} must be a whole number") from None


def _key_incidents(key: ManagedKey) -> list[Incident]:
    return [
        link.incident
        for link in IncidentKey.objects.filter(key=key).select_related("incident").order_by("-incident__opened_at")
    ]


def _context(request: HttpRequest, key: ManagedKey) -> dict[str, object]:
    parameters = policy_current(ACTION).parameters
    now = timezone.now()
    return {
        "key": key,
        "compromised": key.key_state is KeyState.COMPROMISED,
        "incidents": _key_incidents(key),
        "systems": sorted(s.name for s in key.systems.all()),
        "max_hours": int(parameters.get("max_valid_hours", 24)),
        "max_operations": int(parameters.get("max_operations", 1_000_000)),
        "grants": DecryptGrant.objects.filter(
            key=key, revoked_at__isnull=True, expires_at__gt=now, operations_used__lt=F("operation_budget")
        ).order_by("expires_at"),
        "pending": ApprovalRequest.objects.filter(
            action=ACTION, subject_type="key", subject_id=str(key.id), status=ApprovalRequest.Status.PENDING
        ).select_related("requested_by"),
        "chosen_incident": request.POST.get("incident") or request.GET.get("incident", ""),
        "form": request.POST,
    }


@login_required
@require_http_methods(["GET", "POST"])
def decrypt_access_page(request: HttpRequest, key_id: UUID) -> HttpResponse:
    require_any(request, "webapp.respond_to_incidents")
    try:
        key = selectors.key_visible_to(key_id=key_id, user=request.user)
    except KeyNotFound:
        raise Http404("no such key") from None
    if request.method == "POST":
        assert isinstance(request.user, User)  # login_required
        system = request.POST.get("system", "").strip()
        incident = request.POST.get("incident", "").strip()
        try:
            if incident not in {i.reference for i in _key_incidents(key)}:
                raise ValueError("choose the incident this access is for (one that holds this key)")
            opened = approval_request_open(
                action=ACTION,
                payload={
                    "key": str(key.id),
                    "principal": request.user.get_username(),
                    "purpose": request.POST.get("purpose", "").strip(),
                    "valid_hours": _whole_number(request.POST.get("valid_hours", ""), "the duration"),
                    "operation_budget": _whole_number(request.POST.get("operation_budget", ""), "the budget"),
                    **({"system": system} if system else {}),
                },
                reason=request.POST.get("justification", ""),
                incident=incident,
                requested_by=request.user,
                actor=actor_from_request(request),
            )
        except (ValueError, DomainError) as exc:
            messages.error(request, f"Not requested: {getattr(exc, 'message', str(exc))}")
        else:
            messages.success(
                request,
                f"Decrypt access to {key.alias} requested: the approvers are told; once they agree, "
                "the grant appears on the key's decrypt-access page.",
            )
            return redirect("approval-page", request_id=opened.id)
    return render(request, "incidents/decrypt_access.html", _context(request, key))
