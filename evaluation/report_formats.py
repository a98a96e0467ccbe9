"""The period report's three forms: CSV (one row per incident), OSCAL assessment-results (built with
compliance-trestle's models, so what is written validates against the OSCAL schema) and the HTML the
signed PDF is laid out from."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from django.template.loader import render_to_string

from evaluation.models import Measure
from evaluation.services import reviews
from evaluation.services.period import EVIDENCED, YES, PeriodData
from evaluation.services.targets import duration_text

NAMESPACE = uuid.UUID("6f1c8c1e-5b7e-4c56-9d0e-0c3e1b9a2f41")  # names this deployment's OSCAL objects
SEQUESTER_NS = "https://sequester.invalid/ns/oscal"  # a namespace for Sequester's own properties (not fetched)
MEASURES = [m.value for m in Measure if m not in (Measure.NOTIFY, Measure.ACKNOWLEDGE, Measure.DECIDE)]


def period_csv(data: PeriodData) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    header = [
        "reference",
        "title",
        "severity",
        "status",
        "resolution",
        "opened_at",
        "closed_at",
        "keys",
        "compromised_keys",
        *[f"{m}_seconds" for m in MEASURES],
        *[f"{m}_target_seconds" for m in MEASURES],
        *[f"{m}_status" for m in MEASURES],
        "targets_missed",
        "review",
        "waivers",
        "notifications",
        "acknowledged",
        "refused_uses",
        "obligations_overdue",
    ]
    writer.writerow(header)
    for measured in data.metrics:
        incident = measured.incident
        figures = {f.measure: f for f in measured.figures if not f.subject}
        links = incident.incident_keys.select_related("key")
        notes = incident.notifications.values_list("status", flat=True)
        writer.writerow(
            [
                incident.reference,
                incident.title,
                incident.severity,
                incident.status,
                incident.resolution,
                incident.opened_at.isoformat(),
                incident.closed_at.isoformat() if incident.closed_at else "",
                links.count(),
                sum(1 for link in links if link.key.state in ("compromised", "destroyed_compromised")),
                *[_num(figures[m].seconds) if m in figures else "" for m in MEASURES],
                *[figures[m].target if m in figures and figures[m].target is not None else "" for m in MEASURES],
                *[figures[m].status if m in figures else "" for m in MEASURES],
                len(measured.missed),
                data.review_states.get(incident.reference, reviews.MISSING),
                "; ".join(f"{k}: {v}" for k, v in data.waivers.get(incident.reference, {}).items()),
                len(notes),
                sum(1 for s in notes if s == "acknowledged"),
                measured.counts["refused_uses"],
                measured.counts["obligations_overdue"],
            ]
        )
    return out.getvalue()


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def period_oscal(data: PeriodData, *, report_id: str = "") -> dict[str, Any]:
    """An OSCAL assessment-results document: one result for the period, one finding per CAIQ part, audit
    guideline and CCM check (satisfied only when fully evidenced), each with its observation. Validated
    against compliance-trestle's OSCAL models before it is returned."""
    from trestle.oscal import OSCAL_VERSION
    from trestle.oscal.assessment_results import AssessmentResults

    def uid(name: str) -> str:
        return str(uuid.uuid5(NAMESPACE, f"{data.since}/{data.until}/{report_id}/{name}"))

    collected = data.generated_at.isoformat()
    observations: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    for answer in data.answers:
        observation: dict[str, Any] = {
            "uuid": uid(f"observation/{answer.id}"),
            "title": f"{answer.id}: evidence in the period",
            "description": answer.answer,
            "methods": ["EXAMINE", "TEST"],
            "collected": collected,
        }
        if answer.references:
            observation["relevant-evidence"] = [{"description": ref} for ref in answer.references]
        observations.append(observation)
        satisfied = answer.status in (YES, EVIDENCED)
        status: dict[str, Any] = {"state": "satisfied" if satisfied else "not-satisfied"}
        if not satisfied:
            status["reason"] = "other"
        findings.append(
            {
                "uuid": uid(f"finding/{answer.id}"),
                "title": f"{answer.id}: {answer.status}",
                "description": answer.question,
                "props": [
                    {"name": "evaluation-status", "value": answer.status.replace(" ", "-"), "ns": SEQUESTER_NS},
                    {"name": "answer", "value": answer.answer[:1000], "ns": SEQUESTER_NS},
                ],
                "target": {
                    "type": "objective-id",
                    "target-id": f"cek-19_{answer.id.lower().replace(' ', '-')}",
                    "status": status,
                },
                "related-observations": [{"observation-uuid": observation["uuid"]}],
            }
        )
    document = {
        "uuid": uid("document"),
        "metadata": {
            "title": f"Sequester period report {data.since} to {data.until} (CSA CCM/AICM CEK-19)",
            "last-modified": collected,
            "version": report_id or "unstored",
            "oscal-version": OSCAL_VERSION,
        },
        "import-ap": {
            "href": "#sequester-assessment-plan",
            "remarks": "No separate assessment plan: the method is the playbook in force.",
        },
        "results": [
            {
                "uuid": uid("result"),
                "title": f"CEK-19 Key Compromise: {data.since} to {data.until}",
                "description": "Sequester's evaluation of the key-compromise control over the period, from its "
                "recorded evidence (audit trail, approvals, incidents, drills, reviews, the playbook in force).",
                "start": data.start.isoformat(),
                "end": data.end.isoformat(),
                "reviewed-controls": {"control-selections": [{"include-controls": [{"control-id": "cek-19"}]}]},
                "observations": observations,
                "findings": findings,
            }
        ],
    }
    validated: dict[str, Any] = AssessmentResults.model_validate(document).oscal_dict()
    return validated


def period_html(data: PeriodData, *, signer: str, report_id: str, bundle_events: int) -> str:
    return render_to_string(
        "evaluation/period_report.html",
        {
            "d": data,
            "signer": signer,
            "report_id": report_id,
            "bundle_events": bundle_events,
            "missed": sorted(data.missed.items()),
            "caiq": [a for a in data.answers if a.id.startswith("CAIQ")],
            "checklist": [a for a in data.answers if not a.id.startswith("CAIQ")],
            "drills": data.drills,
            "duration": duration_text,
        },
    )
