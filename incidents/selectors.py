"""Reads of incidents: the list's filters and sort orders, one place for the API and the page."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Case, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from incidents.models import SEVERITY_RANK, Incident, IncidentKey, Severity
from webapp.errors import DomainError


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
    if filters.key:
        try:
            key_match = Q(incident_keys__key_id=uuid.UUID(filters.key))
        except ValueError:
            key_match = Q(incident_keys__key__alias=filters.key)
        found = found.filter(id__in=Incident.objects.filter(key_match).values("id"))
    if filters.party:
        found = found.filter(id__in=Incident.objects.filter(notifications__party__name=filters.party).values("id"))
    return found.order_by(*filters.ordering)
