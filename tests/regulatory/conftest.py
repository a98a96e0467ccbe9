"""Helpers for the regulatory tests: the shipped catalogue, a facts builder and an assess shortcut."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from audit.actors import Actor
from incidents.models import Incident, IncidentKey
from keyvault.models import DataAsset, System
from keyvault.services import lifecycle
from regulatory.engine import obligations_assess
from regulatory.facts import facts_parse
from regulatory.loader import catalogue_load
from regulatory.serialize import obligation_json
from regulatory.services.assessments import assessment_prefill
from regulatory.services.profile import ENTITY_NOTHING
from regulatory.types import Catalogue
from tests.approvals.conftest import authenticators, people  # noqa: F401 - shared fixtures

AS_OF = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
SYSTEM = Actor.system("tests")


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


def make_incident(
    *,
    reference: str,
    asset: str,
    categories: list[str],
    records: int,
    jurisdictions: list[str],
    alias: str,
    workflow_id: str = "",
) -> Incident:
    """An incident on a compromised key protecting one encrypted data asset, detected 3 h and known 2 h ago."""
    system = System.objects.create(name=f"{asset}-system")
    data = DataAsset.objects.create(
        name=asset,
        system=system,
        data_categories=categories,
        record_count=records,
        jurisdictions=jurisdictions,
        encrypted=True,
    )
    key = lifecycle.key_create(actor=SYSTEM, alias=alias, purpose="tests", data_asset_ids=[data.id])
    lifecycle.key_suspend(key_ids=[key.id], actor=SYSTEM, reason="leak")
    lifecycle.key_compromise(key_id=key.id, actor=SYSTEM, reason="confirmed")
    now = timezone.now()
    found = Incident.objects.create(
        reference=reference,
        title=f"{alias} leaked",
        detected_at=now - timedelta(hours=3),
        aware_at=now - timedelta(hours=2),
        workflow_id=workflow_id,
    )
    IncidentKey.objects.create(incident=found, key=key, via=IncidentKey.Via.SIGNAL)
    return found


@pytest.fixture
def incident(db: None) -> Incident:
    return make_incident(
        reference="INC-2026-9001",
        asset="patient-records",
        categories=["phi", "personal_data"],
        records=800,
        jurisdictions=["US-NY"],
        alias="records-kek",
        workflow_id="wf-9001",
    )


# Every entity fact stated as "no": only the facts a test sets decide (a fact left out would make its
# duties provisional).
NOTHING = ENTITY_NOTHING


def entity(**facts: Any) -> dict[str, Any]:
    """A complete entity profile: every fact "no" unless given."""
    return {**NOTHING, **facts}


def hipaa_facts(incident: Incident) -> dict[str, Any]:
    facts = assessment_prefill(incident)
    facts["deadline_tz"] = "America/New_York"
    facts["entity"] = entity(hipaa="covered_entity", roles=["controller"], establishments=["US"])
    facts["events"]["discovered_at"] = facts["events"]["aware_at"]
    return facts
