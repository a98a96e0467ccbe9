"""Reads of incidents: the list's scopes, filters and sort orders (one place for the API and the page), and
the short lists the home page shows per role. Each read is a bounded number of queries whatever the number
of incidents (joins and annotations, a limit)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Case, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from incidents.models import SEVERITY_RANK, Incident, IncidentKey, Severity
from incidents.services.ownership import COMMAND_PERMISSION
from webapp.errors import DomainError

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


class InvalidFilter(DomainError):
    code = "invalid_filter"
    http_status = 400


# name → the ordering (its last field is unique, so a cursor resumes exactly where it stopped)
INCIDENT_SORTS: dict[str, tuple[str, ...]] = {
    "-opened_at": ("-opened_at", "-id"),
    "opened_at": ("opened_at", "id"),
    "-severity": ("-severity_rank", "-opened_at", "-id"),
    "severity": ("severity_rank", "opened_at", "id"),
    "reference": ("reference",),
    "-reference": ("-reference",),
}
DEFAULT_SORT = "-opened_at"


@dataclass(frozen=True, slots=True)
class IncidentFilters:
    status: str = ""
    severity: str = ""
    step: str = ""
    opened_from: date | None = None
    opened_to: date | None = None  # inclusive: the whole day
    key: str = ""  # a key id or alias
    party: str = ""  # a party's name: incidents it was notified of
    commander_id: int | None = None
    commander: str = ""  # a commander's username
    unassigned: bool = False  # open incidents waiting for a commander
    sort: str = DEFAULT_SORT

    @property
    def ordering(self) -> tuple[str, ...]:
        return INCIDENT_SORTS[self.sort]


def _choice(params: Mapping[str, str], name: str, allowed: list[str], *, strict: bool) -> str:
    value = params.get(name, "") or ""
    if value and value not in allowed:
        if strict:
            raise InvalidFilter(f"{name} must be one of {', '.join(allowed)}", field=name)
        return ""
    return value


def _day(params: Mapping[str, str], name: str, *, strict: bool) -> date | None:
    value = params.get(name, "") or ""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        if strict:
            raise InvalidFilter(f"{name} must be a date (YYYY-MM-DD)", field=name) from None
        return None


def incident_filters_parse(params: Mapping[str, str], *, strict: bool) -> IncidentFilters:
    """Filters from query parameters. ``strict`` (the API): a bad value is an error with a stable code;
    otherwise (the page) it is ignored, as if the filter were not set."""
    sort = params.get("sort", "") or DEFAULT_SORT
    if sort not in INCIDENT_SORTS:
        if strict:
            raise InvalidFilter(f"sort must be one of {', '.join(INCIDENT_SORTS)}", field="sort")
        sort = DEFAULT_SORT
    return IncidentFilters(
        status=_choice(params, "status", list(Incident.Status.values), strict=strict),
        severity=_choice(params, "severity", list(Severity.values), strict=strict),
        step=_choice(params, "step", list(Incident.Step.values), strict=strict),
        opened_from=_day(params, "opened_from", strict=strict),
        opened_to=_day(params, "opened_to", strict=strict),
        key=(params.get("key", "") or "").strip()[:200],
        party=(params.get("party", "") or "").strip()[:200],
        commander=(params.get("commander", "") or "").strip()[:150],
        unassigned=params.get("unassigned") in ("1", "true"),
        sort=sort,
    )


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def incidents_find(filters: IncidentFilters) -> QuerySet[Incident]:
    """Incidents matching ``filters`` in their sort order, with what a row shows (commander, key count)
    fetched in the same query."""
    found = Incident.objects.select_related("commander").annotate(
        severity_rank=Case(
            *(When(severity=s.value, then=Value(rank)) for s, rank in SEVERITY_RANK.items()),
            default=Value(-1),
            output_field=IntegerField(),
        ),
        key_count=Coalesce(
            Subquery(
                IncidentKey.objects.filter(incident=OuterRef("pk"))
                .order_by()
                .values("incident")
                .annotate(n=Count("id"))
                .values("n")
            ),
            Value(0),
        ),
    )
    if filters.status:
        found = found.filter(status=filters.status)
    if filters.severity:
        found = found.filter(severity=filters.severity)
    if filters.step:
        found = found.filter(step=filters.step)
    if filters.opened_from:
        found = found.filter(opened_at__gte=_start_of(filters.opened_from))
    if filters.opened_to:
        found = found.filter(opened_at__lt=_start_of(filters.opened_to + timedelta(days=1)))
    if filters.commander_id is not None:
        found = found.filter(commander_id=filters.commander_id)
    if filters.commander:
        found = found.filter(commander__username=filters.commander)
    if filters.unassigned:
        found = found.filter(status=Incident.Status.OPEN, commander__isnull=True)
    if filters.key:
        try:
            key_match = Q(incident_keys__key_id=uuid.UUID(filters.key))
        except ValueError:
            key_match = Q(incident_keys__key__alias=filters.key)
        found = found.filter(id__in=Incident.objects.filter(key_match).values("id"))
    if filters.party:
        found = found.filter(id__in=Incident.objects.filter(notifications__party__name=filters.party).values("id"))
    return found.order_by(*filters.ordering)
