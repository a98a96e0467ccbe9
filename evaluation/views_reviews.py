"""The post-incident review page: the generated timeline, the text, the actions, the sign-off."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from evaluation.models import ReviewAction
from evaluation.services import reviews
from incidents.errors import IncidentNotFound
from incidents.services.incidents import incident_get
from webapp.api.actors import actor_from_request
from webapp.errors import DomainError
from webapp.permissions import require_any

EDITORS = ("webapp.command_incidents", "webapp.respond_to_incidents")


@login_required
@require_GET
def review_page(request: HttpRequest, reference: str) -> HttpResponse:
    require_any(request, "webapp.view_incidents")
    try:
        incident = incident_get(reference)
    except IncidentNotFound:
        raise Http404("no such incident") from None
    review = reviews.review_of(incident)
    state = reviews.review_state(review)
    can_edit = any(request.user.has_perm(p) for p in EDITORS)
    return render(
        request,
        "evaluation/review.html",
        {
            "incident": incident,
            "review": review,
            "state": state,
            "editable": can_edit and state in (reviews.MISSING, reviews.DRAFT),
            "can_edit": can_edit,
            "timeline": review.timeline if review and review.timeline else reviews.review_timeline(incident),
            "actions": list(review.actions.select_related("owner")) if review else [],
            "owners": get_user_model()
            .objects.filter(is_active=True, groups__isnull=False)
            .distinct()
            .order_by("username"),
        },
    )


@login_required
@require_POST
def review_post(request: HttpRequest, reference: str, what: str) -> HttpResponse:
    actor = actor_from_request(request)
    try:
        if what == "done":
            action_id = int(request.POST.get("action", "0"))
            action = ReviewAction.objects.filter(pk=action_id).first()
            if action is None or not (
                action.owner_id == request.user.pk or request.user.has_perm("webapp.command_incidents")
            ):
                require_any(request, "webapp.command_incidents")
            reviews.review_action_done(action_id=action_id, note=request.POST.get("note", ""), actor=actor)
            done = "Action marked done."
        else:
            require_any(request, *EDITORS)
            if what == "text":
                done = "Review text saved."
                reviews.review_update(
                    reference=reference,
                    went_well=request.POST.get("went_well", ""),
                    went_badly=request.POST.get("went_badly", ""),
                    root_cause=request.POST.get("root_cause", ""),
                    actor=actor,
                )
            elif what == "action":
                owner = get_user_model().objects.filter(pk=request.POST.get("owner") or 0).first()
                owner_note = f" for {owner.get_username()}" if owner else ""
                done = f"Action added{owner_note}, due {request.POST.get('due_on', '')}."
                reviews.review_action_add(
                    reference=reference,
                    description=request.POST.get("description", ""),
                    owner=owner,
                    due_on=date.fromisoformat(request.POST.get("due_on", "")),
                    actor=actor,
                )
            elif what == "submit":
                reviews.review_submit(reference=reference, user=request.user, actor=actor)
                done = "Review submitted: its sign-off approval is open for the approvers."
            else:
                raise Http404("no such review action")
    except (ValueError, DomainError) as exc:
        messages.error(request, f"Not done: {getattr(exc, 'message', str(exc))}")
    else:
        messages.success(request, done)
    return redirect("review-page", reference=reference)
