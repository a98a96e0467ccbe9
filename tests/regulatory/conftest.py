"""Helpers for the regulatory tests: the shipped catalogue, a facts builder and an assess shortcut."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from regulatory.engine import obligations_assess
from regulatory.facts import facts_parse
from regulatory.loader import catalogue_load
from regulatory.serialize import obligation_json
from regulatory.types import Catalogue

AS_OF = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return catalogue_load()


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def decision(value: Any, by: str = "dpo@example.com", at: str = "2026-01-01T00:00:00Z") -> dict[str, Any]:
    return {"value": value, "by": by, "at": at}


@pytest.fixture(scope="session")
def assess(catalogue: Catalogue) -> Callable[..., dict[str, dict[str, Any]]]:
    def run(facts: dict[str, Any], as_of: datetime = AS_OF) -> dict[str, dict[str, Any]]:
        obligations = obligations_assess(facts_parse(facts, catalogue), catalogue, as_of=as_of)
        return {o.id: obligation_json(o) for o in obligations}

    return run
