"""Fields shared by every API: ids are bounded to what the database can hold (a 64-bit signed
integer), so an out-of-range id is a 400 ``invalid_input``, never an overflow (500) in the query."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

MAX_DB_ID = 2**63 - 1


class IdField(serializers.IntegerField):
    """A row id: 1 … 2**63 - 1."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_DB_ID)
        super().__init__(**kwargs)
