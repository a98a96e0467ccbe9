"""Errors of the regulatory engine, each with a stable code (the CLI prints it, the API maps it)."""

from __future__ import annotations

from webapp.errors import DomainError


class CatalogueInvalid(DomainError):
    """A rule, calendar or holiday file is malformed: names the file, the entry and the field."""

    code = "catalogue_invalid"
    http_status = 500


class FactsNotJson(DomainError):
    code = "facts_not_json"


class FactsInvalid(DomainError):
    """The facts do not follow the schema (docs/regulatory-facts.md); ``details['field']`` names where."""

    code = "facts_invalid"


class FactsUnknownEvent(DomainError):
    code = "facts_unknown_event"


class FactsBadTime(DomainError):
    code = "facts_bad_time"


class FactsBadTimezone(DomainError):
    code = "facts_bad_timezone"


class FilingInvalid(DomainError):
    code = "filing_invalid"
    http_status = 409
