"""Reads of incidents: the list's scopes, and the short lists the home page shows per role. Each read
is a bounded number of queries whatever the number of incidents (joins and annotations, a limit)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When

from incidents.models import Incident, Severity
from incidents.services.ownership import COMMAND_PERMISSION

# The list's "Show" filter: value → label.
LIST_SCOPES: dict[str, str] = {
    "open": "Open",
    "mine": "Mine (open)",
    "unassigned": "Waiting for a commander",
    "attention": "Needs attention",
    "closed": "Closed",
    "all": "All",
}


def list_default_scope(user: Any) -> str:
    """Auditors (who read the record, not respond) land on closed incidents; responders on open ones."""
    if user.has_perm("webapp.view_audit") and not user.has_perm("webapp.respond_to_incidents"):
        return "closed"
    return "open"


def _needing_attention(found: QuerySet[Incident]) -> QuerySet[Incident]:
    """Open incidents that are critical, or whose step is stalled (failing, expired, waiting for a retry)."""
    return found.filter(status=Incident.Status.OPEN).filter(Q(severity=Severity.CRITICAL) | ~Q(attention=""))


def list_scope_filter(found: QuerySet[Incident], *, scope: str, user: Any) -> QuerySet[Incident]:
    if scope == "open":
        return found.filter(status=Incident.Status.OPEN)
    if scope == "mine":
        return found.filter(status=Incident.Status.OPEN, commander_id=user.pk)
    if scope == "unassigned":
        return found.filter(status=Incident.Status.OPEN, commander__isnull=True)
    if scope == "attention":
        return _needing_attention(found)
    if scope == "closed":
        return found.filter(status=Incident.Status.CLOSED).order_by("-closed_at", "-opened_at")
    return found


def _rows(found: QuerySet[Incident]) -> QuerySet[Incident]:
    return found.select_related("commander").annotate(key_count=Count("incident_keys"))


def incidents_commanded_by(user: Any, *, limit: int) -> list[Incident]:
    return list(_rows(Incident.objects.filter(status=Incident.Status.OPEN, commander_id=user.pk))[:limit])


def incidents_unassigned(*, limit: int) -> list[Incident]:
    return list(_rows(Incident.objects.filter(status=Incident.Status.OPEN, commander__isnull=True))[:limit])


def incidents_needing_attention(*, limit: int) -> list[Incident]:
    """Stalled steps first (someone must act), then critical incidents, most recent first."""
    stalled = Case(When(~Q(attention=""), then=Value(1)), default=Value(0), output_field=IntegerField())
    found = _needing_attention(_rows(Incident.objects.all())).annotate(stalled=stalled)
    return list(found.order_by("-stalled", "-opened_at")[:limit])


def incidents_recent(*, status: str, limit: int) -> tuple[list[Incident], int]:
    """The latest ``limit`` incidents with ``status`` (closed: by closing time), and how many there are."""
    found = Incident.objects.filter(status=status)
    order = ("-closed_at", "-opened_at") if status == Incident.Status.CLOSED else ("-opened_at",)
    return list(_rows(found).order_by(*order)[:limit]), found.count()


def commanders() -> list[Any]:
    """People who may command an incident (the choices of the assign form)."""
    people = get_user_model().objects.with_perm(
        COMMAND_PERMISSION, is_active=True, backend="django.contrib.auth.backends.ModelBackend"
    )
    return list(people.order_by("username"))
