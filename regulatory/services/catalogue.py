"""The regulatory app's entry points for the rest of Sequester: the configured catalogue and assessments."""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings

from regulatory.engine import Obligation, obligations_assess
from regulatory.errors import FactsNotJson
from regulatory.facts import facts_parse
from regulatory.loader import catalogue_load
from regulatory.serialize import obligation_json
from regulatory.types import Catalogue


@lru_cache(maxsize=4)
def _catalogue(extra_dir: str | None) -> Catalogue:
    return catalogue_load(Path(extra_dir) if extra_dir else None)


def catalogue_get() -> Catalogue:
    """The shipped catalogue plus ``SEQUESTER_REGULATORY_DIR`` (validated once per process)."""
    return _catalogue(settings.SEQUESTER_REGULATORY_DIR)


def facts_decode(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FactsNotJson(f"the facts are not valid JSON: {exc}", line=exc.lineno, column=exc.colno) from None


def obligations_compute(*, raw_facts: Any, as_of: datetime, catalogue: Catalogue | None = None) -> list[Obligation]:
    """Facts (decoded JSON) → obligations, on the configured catalogue."""
    catalogue = catalogue or catalogue_get()
    return obligations_assess(facts_parse(raw_facts, catalogue), catalogue, as_of=as_of)


def obligations_document(obligations: list[Obligation]) -> dict[str, Any]:
    return {"obligations": [obligation_json(obligation) for obligation in obligations]}
