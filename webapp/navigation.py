"""Navigation per role: each entry names the capability that shows it. Apps add their own entries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from webapp.roles import user_roles


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str
    url_name: str
    permissions: tuple[str, ...] = ()  # any of these ("webapp.view_audit", …); none = every signed-in user
    staff_only: bool = False

    def visible_to(self, user: Any) -> bool:
        if self.staff_only and not user.is_staff:
            return False
        return not self.permissions or any(user.has_perm(p) for p in self.permissions)


INVENTORY_READERS = ("webapp.use_key_gate", "webapp.custody_keys", "webapp.respond_to_incidents", "webapp.view_audit")
NAV_ITEMS: list[NavItem] = [
    NavItem("Home", "home"),
    NavItem("Incidents", "incidents-list", ("webapp.view_incidents",)),
    NavItem("Keys", "keys", INVENTORY_READERS),
    NavItem("Quarantine", "keys-quarantine-page", ("webapp.respond_to_incidents",)),
    NavItem("Approvals", "approvals-inbox", ("webapp.view_incidents",)),
    NavItem("Inbox", "notifications-inbox"),
    NavItem("Security", "account-security", ("webapp.decide_approvals",)),
    NavItem("Case files", "casefile-list", ("webapp.export_case_files",)),
    NavItem("Audit", "audit-page", ("webapp.view_audit", "webapp.export_case_files")),
    NavItem("Search", "search", ("webapp.view_incidents", *INVENTORY_READERS)),
    NavItem("API docs", "api-docs"),
    NavItem("Admin", "admin:index", staff_only=True),
]


def nav_item_register(item: NavItem) -> None:
    if item not in NAV_ITEMS:
        NAV_ITEMS.append(item)


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    if not user.is_authenticated:
        return {"nav_items": [], "user_roles": []}
    items = [
        {"label": item.label, "url": reverse(item.url_name), "current": request.path == reverse(item.url_name)}
        for item in NAV_ITEMS
        if item.visible_to(user)
    ]
    if settings.TEMPORAL_UI_URL and user.has_perm("webapp.respond_to_incidents"):
        items.append({"label": "Temporal UI", "url": settings.TEMPORAL_UI_URL, "current": False, "external": True})
    return {"nav_items": items, "user_roles": user_roles(user)}
