"""Obligations as JSON (the CLI contract, the API and the stored assessments share this shape)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from regulatory.engine import Obligation, Pending


def utc_z(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, to the second (``2026-03-08T17:00:00Z``), or None."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _local(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def pending_json(pending: tuple[Pending, ...]) -> list[dict[str, str]]:
    return [asdict(p) for p in pending]


def obligation_json(obligation: Obligation) -> dict[str, Any]:
    deadline = {k: v for k, v in asdict(obligation.deadline).items() if v not in ("", 0) or k == "kind"}
    if obligation.deadline.anchor == "trigger":
        deadline.pop("anchor", None)
    return {
        "id": obligation.id,
        "rule_id": obligation.rule_id or obligation.id,
        "entity": {"id": obligation.entity_id, "name": obligation.entity_name},
        "status": obligation.status,
        "provisional": obligation.provisional,
        "pending": pending_json(obligation.pending),
        "due_utc": utc_z(obligation.due_utc),
        "due_local": _local(obligation.due_local),
        "deadline_tz": obligation.deadline_tz,
        "trigger_event": obligation.trigger_event,
        "trigger_at": utc_z(obligation.trigger_at),
        "trigger_used": obligation.trigger_used,
        "filed_event": obligation.filed_event or None,
        "rule": obligation.rule,
        "deadline": deadline,
        "counting": obligation.counting,
        "explanation": obligation.explanation,
        "qualifier": obligation.qualifier,
        "regime": obligation.regime,
        "jurisdiction": obligation.jurisdiction,
        "recipient": obligation.recipient,
        "citation": obligation.citation,
        "confidence": obligation.confidence,
        "in_force": obligation.in_force,
        "reasons": list(obligation.reasons),
        "decisions": [{**d, "at": utc_z(d["at"])} for d in obligation.decisions],
        "milestones": [
            {
                "label": m.label,
                "status": m.status,
                "pending": pending_json(m.pending),
                "trigger_event": m.trigger_event,
                "due_utc": utc_z(m.due_utc),
                "due_local": _local(m.due_local),
                "explanation": m.explanation,
            }
            for m in obligation.milestones
        ],
        "relief": None
        if obligation.relief is None
        else {
            "rule": obligation.relief.rule,
            "due_utc": utc_z(obligation.relief.due_utc),
            "due_local": _local(obligation.relief.due_local),
            "reason": obligation.relief.reason,
        },
    }
