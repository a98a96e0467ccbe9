"""Write many rows of a model at once: PostgreSQL's COPY (several times faster than a multi-row INSERT for
thousands of rows), or ``bulk_create`` elsewhere. The rows are model instances, prepared as ``save()`` would
(defaults, ``auto_now_add``); no signal is sent, as with ``bulk_create``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import connection, models
from psycopg.types.json import Jsonb

M = TypeVar("M", bound=models.Model)

COPY_FROM = 200  # fewer rows: one INSERT costs less than setting up a COPY


def _value(field: models.Field[Any, Any], obj: models.Model) -> Any:
    value = field.pre_save(obj, True)
    if value is None:
        return None
    if isinstance(field, models.JSONField):
        return Jsonb(value)
    if isinstance(field, models.BinaryField):
        return bytes(value)
    return value


def rows_write(model: type[M], objs: Sequence[M], *, batch_size: int = 2000) -> int:
    """Insert ``objs`` (new rows) and return how many were written. An auto-increment primary key is
    left to the database: with COPY it is not read back (the instances keep ``pk=None``), so a caller that
    needs the ids uses ``bulk_create``."""
    if not objs:
        return 0
    if connection.vendor != "postgresql" or len(objs) < COPY_FROM:
        model._default_manager.bulk_create(objs, batch_size=batch_size)
        return len(objs)
    pk = model._meta.pk
    auto_pk = isinstance(pk, models.AutoField | models.BigAutoField)
    fields = [f for f in model._meta.concrete_fields if not (auto_pk and f is pk)]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([_value(f, obj) for f in fields])
                obj._state.adding = False
    return len(objs)
