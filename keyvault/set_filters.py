"""``AnyOf``: a filter on a set of values that stays one bound parameter, however large the set.

``field__in=ids`` spells every value as its own parameter; with ten thousand keys the statement text
alone costs more than the work. On PostgreSQL ``AnyOf(F("id"), ids)`` sends ``id = ANY(%s)`` with one
array; elsewhere (SQLite) it reads the values from one JSON parameter."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Lookup
from django.db.models.sql.compiler import SQLCompiler


class AnyOf(Lookup):  # type: ignore[type-arg]
    """``AnyOf(F("field"), values)``: the field's value is one of ``values`` (used as a filter)."""

    lookup_name = "any_of"
    prepare_rhs = False

    def __init__(self, lhs: Any, rhs: Iterable[Any]) -> None:
        super().__init__(lhs, list(rhs))

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = list(dict.fromkeys(field.get_db_prep_value(value, connection, prepared=False) for value in self.rhs))
        if not values:
            raise EmptyResultSet
        if connection.vendor == "postgresql":
            return f"{lhs_sql} = ANY(%s)", [*lhs_params, values]
        sql = f"{lhs_sql} IN (SELECT value FROM json_each(%s))"  # noqa: S608 - the compiled column; values bound
        return sql, [*lhs_params, json.dumps(values, default=str)]
