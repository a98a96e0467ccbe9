"""Period reports kept as generated (a signed PDF/A with its evidence attached), the control owner's
attestation of one (``control_attestation``), and the auditor's recorded random samples."""

from __future__ import annotations

import hashlib
import io
import json
import random
import secrets
from dataclasses import asdict
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals import policies
from approvals.models import ApprovalRequest
from approvals.services.requests import approval_request_open
from audit.actors import Actor
from audit.bundles import BundleScope, audit_bundle_write
from audit.models import AuditEvent
from audit.offline_verifier import BUNDLE_ATTACHMENT, verify_bundle
from audit.services import audit_record
from audit.signing import public_key_raw
from casefile.services import casefile_request
from casefile.signing import signer_subject
from evaluation.documents import signed_pdf
from evaluation.errors import ReportInvalid
from evaluation.models import AuditSample, PeriodReport
from evaluation.report_formats import period_csv, period_html, period_oscal
from evaluation.services.period import PeriodData, period_bounds, period_data, period_incidents

MAX_SAMPLE = 200


def report_json(data: PeriodData) -> dict[str, Any]:
    return {
        "format": "sequester.period-report/1",
        "since": data.since.isoformat(),
        "until": data.until.isoformat(),
        "generated_at": data.generated_at.isoformat(),
        "answers": [asdict(a) for a in data.answers],
        "incidents": [m.as_dict() for m in data.metrics],
        "exercises": [i.reference for i in data.exercises],
        "missed_targets": dict(data.missed),
        "refused_uses": data.refused,
        "playbooks": [
            {"version": v.number, "content_hash": v.content_hash, "review_due_on": str(v.review_due_on)}
            for v in data.playbooks
        ],
        "playbook_review_overdue": data.playbook_overdue,
        "events": {"first_seq": data.first_seq, "last_seq": data.last_seq},
    }


def period_report_pdf(data: PeriodData, *, actor: Actor, report_id: str = "") -> bytes:
    """The period's events travel in an audit bundle inside the PDF (verified before signing), so the
    report verifies like a case file: ``casefile_verify`` or ``offline_verifier.py``."""
    out = io.StringIO()
    head = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    audit_bundle_write(
        out=out, scope=BundleScope(from_seq=data.first_seq or head), actor=actor, purpose="period report"
    )
    bundle_bytes = out.getvalue().encode()
    bundle = json.loads(bundle_bytes)
    report = verify_bundle(bundle, pinned_keys=[public_key_raw()])
    if not report.ok:
        raise RuntimeError(f"the audit bundle does not verify: {report.problems[0]}")
    html = period_html(data, signer=signer_subject(), report_id=report_id, bundle_events=len(bundle["events"]))
    oscal = json.dumps(period_oscal(data, report_id=report_id), indent=1, default=str).encode()
    return signed_pdf(
        html,
        attachments={
            BUNDLE_ATTACHMENT: (bundle_bytes, "Audit events of the period, from a signed checkpoint to a signed head"),
            "report.json": (json.dumps(report_json(data), indent=1, default=str).encode(), "Answers and figures"),
            "incidents.csv": (period_csv(data).encode(), "One row per incident"),
            "assessment-results.json": (oscal, "OSCAL assessment-results"),
        },
        reason=f"Sequester period report {data.since} to {data.until}",
    )


def _generated(data: PeriodData, actor: Actor, fmt: str, **extra: Any) -> None:
    audit_record(
        action="report.generated",
        actor=actor,
        subject_type="period",
        subject_id=f"{data.since}..{data.until}",
        data={"format": fmt, "caiq": data.answers[0].status, **extra},
    )


def period_report_generate(*, since: date, until: date, actor: Actor) -> PeriodReport:
    data = period_data(since, until)
    report = PeriodReport(since=since, until=until, generated_by=actor.name, answers={}, pdf=b"", sha256="")
    pdf = period_report_pdf(data, actor=actor, report_id=str(report.id))
    report.pdf, report.sha256 = pdf, hashlib.sha256(pdf).hexdigest()
    report.answers = {"answers": [asdict(a) for a in data.answers], "missed": dict(data.missed)}
    with transaction.atomic():
        report.save()
        _generated(data, actor, "pdf", report=str(report.id), sha256=report.sha256)
    return report


def period_export(*, since: date, until: date, fmt: str, actor: Actor) -> bytes:
    """The report in ``fmt`` (pdf is also kept; oscal and csv are made on demand), audited."""
    if fmt == "pdf":
        return bytes(period_report_generate(since=since, until=until, actor=actor).pdf)
    data = period_data(since, until)
    if fmt == "oscal":
        body = json.dumps(period_oscal(data), indent=2, default=str).encode()
    elif fmt == "csv":
        body = period_csv(data).encode()
    else:
        raise ReportInvalid("the format is pdf, oscal or csv")
    _generated(data, actor, fmt, sha256=hashlib.sha256(body).hexdigest())
    return body


@transaction.atomic
def period_report_attest_request(*, report: PeriodReport, user: Any, actor: Actor) -> ApprovalRequest:
    """Ask the control owner (CISO) and a second person to attest this report's answers."""
    if report.attestation is not None and report.attestation.status in ("pending", "approved"):
        raise ReportInvalid(f"this report's attestation is already {report.attestation.status}")
    caiq: dict[str, Any] = next((a for a in report.answers.get("answers", []) if a["id"] == "CAIQ"), {})
    request = approval_request_open(
        action=policies.CONTROL_ATTESTATION,
        payload={
            "period_report": str(report.id),
            "since": report.since.isoformat(),
            "until": report.until.isoformat(),
            "sha256": report.sha256,
            "caiq": caiq.get("status", ""),
            "statuses": {a["id"]: a["status"] for a in report.answers.get("answers", [])},
        },
        reason=f"attest the CEK-19 period report {report.since} to {report.until}",
        requested_by=user,
        actor=actor,
    )
    PeriodReport.objects.filter(pk=report.pk).update(attestation=request)
    return request


def period_report_attested(request: ApprovalRequest, actor: Actor) -> dict[str, Any]:
    """Effect of an approved ``control_attestation`` (in the deciding transaction)."""
    report = PeriodReport.objects.select_for_update().get(attestation=request)
    report.attested_at = timezone.now()
    report.save(update_fields=["attested_at"])
    audit_record(
        action="control.attested",
        actor=actor,
        subject_type="period",
        subject_id=f"{report.since}..{report.until}",
        data={"report": str(report.id), "sha256": report.sha256, "request": str(request.id)},
    )
    return {"period_report": str(report.id), "sha256": report.sha256}


@transaction.atomic
def audit_sample_draw(
    *, since: date, until: date, size: int, user: Any, actor: Actor, seed: str | None = None
) -> AuditSample:
    """Draw ``size`` of the period's incidents (closed included, exercises not) at random, record the
    population, the seed and the draw (anyone can redraw it: ``random.Random(seed).sample``), and ask for
    each sampled incident's case file."""
    if not 1 <= size <= MAX_SAMPLE:
        raise ReportInvalid(f"a sample is 1 to {MAX_SAMPLE} incidents")
    start, end = period_bounds(since, until)
    population = [i.reference for i in period_incidents(start, end) if not i.exercise]
    if not population:
        raise ReportInvalid("no incident in the period to sample")
    seed = seed or secrets.token_hex(16)
    chosen = sorted(random.Random(seed).sample(population, min(size, len(population))))  # noqa: S311 - reproducible on purpose
    sample = AuditSample.objects.create(
        since=since, until=until, population=population, size=size, seed=seed, chosen=chosen, drawn_by=actor.name
    )
    audit_record(
        action="audit.sample_drawn",
        actor=actor,
        subject_type="period",
        subject_id=f"{since}..{until}",
        reason=f"{len(chosen)} of {len(population)} incident(s)",
        data={
            "sample": str(sample.id),
            "seed": seed,
            "population_sha256": hashlib.sha256("\n".join(population).encode()).hexdigest(),
            "chosen": chosen,
        },
    )
    sample.exports = {
        reference: str(casefile_request(reference=reference, user=user, actor=actor).id) for reference in chosen
    }
    sample.save(update_fields=["exports"])
    return sample
