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


@pytest.fixture
def incident(db: None) -> Incident:
    system = System.objects.create(name="patient-portal")
    records = DataAsset.objects.create(
        name="patient-records",
        system=system,
        data_categories=["phi", "personal_data"],
        record_count=800,
        jurisdictions=["US-NY"],
        encrypted=True,
    )
    key = lifecycle.key_create(actor=SYSTEM, alias="records-kek", purpose="tests", data_asset_ids=[records.id])
    lifecycle.key_suspend(key_ids=[key.id], actor=SYSTEM, reason="leak")
    lifecycle.key_compromise(key_id=key.id, actor=SYSTEM, reason="confirmed")
    now = timezone.now()
    found = Incident.objects.create(
        reference="INC-2026-9001",
        title="records key leaked",
        detected_at=now - timedelta(hours=3),
        aware_at=now - timedelta(hours=2),
        workflow_id="wf-9001",
    )
    IncidentKey.objects.create(incident=found, key=key, via=IncidentKey.Via.SIGNAL)
    return found


# Every entity fact stated as "no": an organisation profile with nothing left unknown, so that only the
# facts a test sets decide (a fact left out would make its duties provisional).
NOTHING: dict[str, Any] = {
    "roles": [],
    "establishments": [],
    "nis2": "none",
    "trust_service_provider": False,
    "dora": "none",
    "hipaa": "none",
    "sec_registrant": False,
    "sec_reg_sp": "none",
    "sec_reg_sp_service_provider": False,
    "circia_covered": False,
    "fedramp": "none",
    "bank": False,
    "bank_service_provider": False,
    "nydfs_covered": False,
    "ftc_safeguards": False,
    "public_electronic_communications": False,
    "card_brands": [],
    "small_processing_agent": False,
    "cn_operator": "other",
}


def entity(**facts: Any) -> dict[str, Any]:
    """A complete entity profile: every fact "no" unless given."""
    return {**NOTHING, **facts}


def hipaa_facts(incident: Incident) -> dict[str, Any]:
    facts = assessment_prefill(incident)
    facts["deadline_tz"] = "America/New_York"
    facts["entity"] = entity(hipaa="covered_entity", roles=["controller"], establishments=["US"])
    facts["events"]["discovered_at"] = facts["events"]["aware_at"]
    return facts
