"""The closure check regulatory registers: every required obligation without a filing is an open item
(an exercise's obligations are computed but never filed: they stand open, and a closure waives them)."""

from __future__ import annotations

from incidents.models import Incident
from incidents.services.closure import OpenItem
from regulatory.models import Obligation
from regulatory.serialize import utc_z


def obligations_open(incident: Incident) -> list[OpenItem]:
    unfiled = Obligation.objects.filter(incident=incident, status="required", filings__isnull=True).order_by(
        "due_at", "rule_id"
    )
    return [
        OpenItem(
            "obligations",
            obligation.rule_id,
            f"{obligation.rule_id} not filed" + (" (exercise: never filed)" if incident.exercise else ""),
            (f"due {utc_z(obligation.due_at)}" if obligation.due_at else "no due time (without undue delay)")
            + (", provisional: a decision is pending" if obligation.detail.get("provisional") else ""),
        )
        for obligation in unfiled
    ]
