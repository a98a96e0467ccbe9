"""Pages: the incident's notifications (preview, approve), the inbox, the public ack link, the feed."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from incidents.errors import IncidentNotFound
from incidents.models import Incident
from incidents.services.incidents import incident_get
from notifications.errors import AckTokenInvalid, NotAllowedToApprove, NothingToApprove, NotificationNotFound
from notifications.feed import etag_matches, key_status_feed
from notifications.selectors import inbox_for, notifications_of
from notifications.services.acks import notification_acknowledge_by_token, notification_acknowledge_in_inbox
from notifications.services.delivery import INBOX_ACK
from notifications.services.messages import (
    ACK_PLACEHOLDER,
    notification_preview,
    notifications_approve,
    notifications_draft,
    notifications_may_approve,
)
from notifications.services.regulators import held_for_signoff
from webapp.api.actors import actor_from_request, client_ip
from webapp.pagination import html_page
from webapp.permissions import require_any

VIEW = "webapp.view_incidents"
RESPOND = "webapp.respond_to_incidents"


def _private(response: HttpResponse) -> HttpResponse:
    """The ack page's address is a secret: never cached, never sent on as a referrer."""
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@csrf_exempt  # the token is the credential: a forging site cannot know it
@require_http_methods(["GET", "POST"])
def ack_page(request: HttpRequest) -> HttpResponse:
    """No login. The link carries the token after ``#``: browsers never send a fragment, so it stays out
    of access logs and referrers; the page's script moves it into the form, which POSTs it. (GET only
    shows the form: mail scanners prefetch links.) A machine POSTs ``token`` and ``name`` itself."""
    if request.method == "POST":
        try:
            notification = notification_acknowledge_by_token(
                token=request.POST.get("token", "").strip(),
                name=request.POST.get("name", ""),
                source_ip=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
        except AckTokenInvalid as exc:
            return _private(render(request, "notifications/ack_invalid.html", {"message": exc.message}, status=404))
        return _private(render(request, "notifications/ack_done.html", {"notification": notification}))
    return _private(render(request, "notifications/ack.html"))


@require_http_methods(["GET", "HEAD"])
def key_status_feed_view(request: HttpRequest) -> HttpResponse:
    feed = key_status_feed()
    headers = {"ETag": feed.etag, "Cache-Control": "public, max-age=60", "Access-Control-Allow-Origin": "*"}
    if etag_matches(request.META.get("HTTP_IF_NONE_MATCH", ""), feed.etag):
        response: HttpResponse = HttpResponseNotModified(headers=headers)
        return response
    return HttpResponse(feed.body, content_type="application/json", headers=headers)


def _incident_or_404(reference: str) -> Incident:
    try:
        return incident_get(reference)
    except IncidentNotFound:
        raise Http404("no such incident") from None


@login_required
@require_GET
def incident_notifications(request: HttpRequest, reference: str) -> HttpResponse:
    require_any(request, VIEW)
    incident = _incident_or_404(reference)
    notifications = list(notifications_of(incident))
    held = {n.pk for n in notifications if held_for_signoff(n)}
    context = {
        "incident": incident,
        "previews": [notification_preview(n) for n in notifications],
        "drafts": sum(1 for n in notifications if n.status == "draft" and n.pk not in held),
        "held": held,
        "can_approve": notifications_may_approve(incident, request.user),
        "can_draft": request.user.has_perm(RESPOND),
    }
    return render(request, "notifications/incident.html", context)


@login_required
@require_POST
def incident_notifications_action(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    require_any(request, VIEW)  # before the lookup: an outsider learns nothing of which incidents exist
    incident = _incident_or_404(reference)
    actor = actor_from_request(request)
    try:
        if action == "draft" and request.user.has_perm(RESPOND):
            notifications_draft(reference=incident.reference, actor=actor)
        elif action == "approve":
            notifications_approve(reference=incident.reference, user=request.user, actor=actor)
        else:
            raise PermissionDenied
    except NotAllowedToApprove:
        raise PermissionDenied from None
    except NothingToApprove as exc:
        return HttpResponse(exc.message, status=409, content_type="text/plain")
    return redirect("incident-notifications", incident.reference)


@login_required
@require_http_methods(["GET", "POST"])
def inbox(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            notification_acknowledge_in_inbox(
                notification_id=int(request.POST.get("notification", "0")),
                user=request.user,
                actor=actor_from_request(request),
            )
        except (NotificationNotFound, ValueError):
            raise Http404("no such notification in your inbox") from None
        except AckTokenInvalid:
            pass  # acknowledged already (by a colleague): the page shows by whom
        return redirect("notifications-inbox")
    page = html_page(request, inbox_for(request.user), per_page=25)
    items = [(n, n.body.replace(ACK_PLACEHOLDER, INBOX_ACK)) for n in page.items]
    return render(request, "notifications/inbox.html", {"items": items, "page": page})
