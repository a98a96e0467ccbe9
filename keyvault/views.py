"""Key pages of the UI: the inventory, the quarantine (incident responders), one key with its history."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit.models import AuditEvent
from keyvault import selectors
from keyvault.errors import KeyNotFound
from keyvault.services.blast_radius import key_blast_radius
from webapp.navigation import INVENTORY_READERS
from webapp.pagination import html_page
from webapp.permissions import require_any


@login_required
@require_GET
def key_inventory(request: HttpRequest) -> HttpResponse:
    require_any(request, *INVENTORY_READERS)
    prefix = request.GET.get("q", "").strip()[:100]
    page = html_page(request, selectors.keys_inventory(alias_prefix=prefix or None))
    return render(request, "keyvault/inventory.html", {"page": page, "keys": page.items, "q": prefix})


@login_required
@require_GET
def key_quarantine(request: HttpRequest) -> HttpResponse:
    require_any(request, "webapp.respond_to_incidents")
    page = html_page(request, selectors.keys_quarantine())
    return render(request, "keyvault/quarantine.html", {"page": page, "keys": page.items})


@login_required
@require_GET
def key_detail(request: HttpRequest, key_id: UUID) -> HttpResponse:
    require_any(request, *INVENTORY_READERS)
    try:
        key = selectors.key_visible_to(key_id=key_id, user=request.user)
    except KeyNotFound:
        raise Http404("no such key") from None
    context = {
        "key": key,
        "usage": selectors.key_usage_totals(key),
        "children": key.children.all().order_by("alias"),
        "assets": key.data_assets.select_related("system").order_by("name"),
        "radius": key_blast_radius([key.id]),
        "history": AuditEvent.objects.for_subject("key", key.id).order_by("-seq")[:200],
    }
    return render(request, "keyvault/detail.html", context)
