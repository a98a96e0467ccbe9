"""Business-day calendars: Saturdays, Sundays, a country's public holidays (incl. observed days, from the
``holidays`` package) and the days an operator adds (ad-hoc closures such as executive-order days)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

from regulatory.types import CalendarSpec, Catalogue


class BusinessCalendar:
    def __init__(self, name: str, countries: list[tuple[str, str]], extra: dict[date, str]) -> None:
        self.name = name
        self._countries = countries
        self._extra = extra

    def holiday_name(self, day: date) -> str | None:
        if day in self._extra:
            return self._extra[day]
        for country, subdiv in self._countries:
            name = _country_holidays(country, subdiv, day.year).get(day)
            if name:
                return str(name)
        return None

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and self.holiday_name(day) is None

    def add_business_days(self, start: date, count: int) -> date:
        """The ``count``-th business day after ``start`` (``start`` itself is day 0, never counted)."""
        day = start
        left = count
        while left > 0:
            day += timedelta(days=1)
            if self.is_business_day(day):
                left -= 1
        return day

    def next_business_day(self, day: date) -> date:
        return self.add_business_days(day, 1)

    def skipped(self, start: date, end: date) -> list[str]:
        """Holidays (not weekends) between start (excluded) and end (included), for the reasons."""
        out = []
        day = start + timedelta(days=1)
        while day <= end:
            name = self.holiday_name(day)
            if name and day.weekday() < 5:
                out.append(f"{day.isoformat()} {name}")
            day += timedelta(days=1)
        return out


@lru_cache(maxsize=256)
def _country_holidays(country: str, subdiv: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdiv or None, years=year, observed=True)


def calendar_build(catalogue: Catalogue, name: str) -> BusinessCalendar:
    """Resolve a named calendar with its base chain (``US-SEC`` extends ``US-FEDERAL``)."""
    countries: list[tuple[str, str]] = []
    extra: dict[date, str] = {}
    seen: set[str] = set()
    current: str = name
    while current:
        if current in seen:
            raise ValueError(f"calendar {name!r}: base chain loops at {current!r}")
        seen.add(current)
        spec: CalendarSpec = catalogue.calendars[current]
        if spec.country:
            countries.append((spec.country, spec.subdiv))
        for holiday in spec.extra:
            extra.setdefault(holiday.day, holiday.name)
        current = spec.base
    return BusinessCalendar(name, countries, extra)


def country_calendar(country: str) -> BusinessCalendar:
    """A plain country calendar (DORA: the entity's Member State), without operator days."""
    return BusinessCalendar(country, [(country, "")], {})
