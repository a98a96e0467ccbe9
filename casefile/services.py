"""Case files: asked for by a person, rendered by a Celery task with its progress recorded, signed,
kept for download. Every request, export and download is on the audit trail."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass, fields
from typing import Any
from uuid import UUID

import structlog
from django.db import transaction
from django.utils import timezone

from audit.actors import Actor
from audit.bundles import audit_bundle_write
from audit.offline_verifier import BUNDLE_ATTACHMENT, verify_bundle
from audit.services import audit_record
from audit.signing import public_key_b64, public_key_raw
from casefile.appendix import appendix_lines
from casefile.certificates import casefile_certificates
from casefile.checklist import checklist
from casefile.errors import CaseFileNotFound, CaseFileNotReady
from casefile.gather import CaseData, UseRecord, case_data
from casefile.models import CaseFileDocument, CaseFileExport
from casefile.picture import blast_radius_svg
from casefile.render import Progress, case_html, case_pdf
from casefile.signing import sign_pdf, signer_subject, signing_time_statement
from incidents.models import Incident
from incidents.services.incidents import incident_get
from incidents.services.scopes import incident_audit_scope

log = structlog.get_logger(__name__)
EVIDENCE_ATTACHMENT = "evidence.json"


def _schedule(export_id: UUID) -> None:
    from casefile.tasks import render_case_file

    render_case_file.delay(str(export_id))


@transaction.atomic
def casefile_request(*, reference: str, user: Any, actor: Actor) -> CaseFileExport:
    incident = incident_get(reference)
    export = CaseFileExport.objects.create(incident=incident, requested_by=user, stage="waiting for a worker")
    audit_record(
        action="casefile.requested",
        actor=actor,
        subject_type="incident",
        subject_id=incident.reference,
        incident=incident.reference,
        data={"export": str(export.id)},
    )
    transaction.on_commit(lambda: _schedule(export.id))
    return export


def casefile_get(export_id: UUID | str) -> CaseFileExport:
    try:
        export = (
            CaseFileExport.objects.select_related("incident", "requested_by").filter(id=UUID(str(export_id))).first()
        )
    except ValueError:
        export = None
    if export is None:
        raise CaseFileNotFound(f"no case file {export_id}")
    return export


def _progress(export_id: UUID) -> Progress:
    def report(percent: int, stage: str) -> None:
        CaseFileExport.objects.filter(pk=export_id).update(progress=percent, stage=stage)

    return report


USE_FIELDS = tuple(f.name for f in fields(UseRecord))


def _evidence(data: CaseData, items: list[Any]) -> bytes:
    document = {
        "format": "sequester.case-evidence/1",
        "incident": {
            "reference": data.incident.reference,
            "title": data.incident.title,
            "status": data.incident.status,
            "resolution": data.incident.resolution,
            "severity": data.incident.severity,
            "opened_at": data.incident.opened_at.isoformat(),
            "detected_at": data.incident.detected_at.isoformat(),
            "aware_at": data.incident.aware_at.isoformat() if data.incident.aware_at else None,
            "closed_at": data.incident.closed_at.isoformat() if data.incident.closed_at else None,
            "blast_radius": data.incident.blast_radius,
        },
        "keys": [
            {f.name: getattr(k, f.name) for f in fields(k) if f.name != "history"}
            | {"history": [e.seq for e in k.history], "restricted_at": _iso(k.restricted_at)}
            for k in data.keys
        ],
        "approvals": [asdict(a) for a in data.approvals],
        "uses": [{name: getattr(u, name) for name in USE_FIELDS} for u in data.uses],  # flat: no deep copies
        "sections": {slot: asdict(section) for slot, section in data.sections.items() if section is not None},
        "detection": {
            "at": data.incident.opened_at.isoformat(),
            "webhook_sources": [asdict(d) for d in data.detection],
        },
        "checklist": [asdict(item) | {"tone": item.tone} for item in items],
    }
    return json.dumps(document, default=_json_default, sort_keys=True, separators=(",", ":")).encode()


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, UUID | bytes | memoryview):
        return str(value) if isinstance(value, UUID) else bytes(value).hex()
    raise TypeError(f"not JSON: {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class PreparedCase:
    """Everything but the layout: the report's HTML, the attachments, and how many pages to expect."""

    html: str
    attachments: dict[str, tuple[bytes, str]]
    expected_pages: int
    events: int


def casefile_prepare(incident: Incident, *, actor: Actor, progress: Progress) -> PreparedCase:
    """Gather, export the audit bundle and verify it, write the HTML and the evidence."""
    progress(5, "gathering the evidence")
    data = case_data(incident, generated_by=actor.name, now=timezone.now())
    progress(20, "exporting the audit trail")
    out = io.StringIO()
    audit_bundle_write(out=out, scope=incident_audit_scope(incident.reference), actor=actor, purpose="case file")
    bundle_bytes = out.getvalue().encode()
    del out
    bundle = json.loads(bundle_bytes)
    report = verify_bundle(bundle, pinned_keys=[public_key_raw()])
    if not report.ok:  # never sign a file whose evidence does not verify
        raise RuntimeError(f"the audit bundle does not verify: {report.problems[0]}")
    aliases = {k.id: k.alias for k in data.keys}
    lines = appendix_lines((e for e in bundle["events"] if not e.get("redacted")), aliases)
    checkpoints = bundle["checkpoints"]
    del bundle  # the appendix keeps only what its lines show: the bundle's objects are let go before the layout
    data.event_count = len(lines)
    items = checklist(data)
    progress(30, f"laying out {len(lines):,} audit events")
    document = case_html(
        data,
        items,
        lines=lines,
        checkpoints=checkpoints,
        picture=blast_radius_svg([k.id for k in data.root_keys], data.incident.blast_radius or {}),
        signer=signer_subject(),
        audit_public_key=public_key_b64(),
        signing={"fingerprint": casefile_certificates()[0].fingerprint, "time": signing_time_statement()},
    )
    attachments = {
        BUNDLE_ATTACHMENT: (bundle_bytes, "Audit events and signed checkpoints (offline_verifier.py checks it)"),
        EVIDENCE_ATTACHMENT: (_evidence(data, items), "Keys, approvals, decisions, uses, obligations, notifications"),
    }
    return PreparedCase(document.html, attachments, document.expected_pages, len(lines))


def casefile_build(incident: Incident, *, actor: Actor, progress: Progress) -> tuple[bytes, int, int]:
    """Gather, export the audit bundle, lay out, sign. Returns (signed PDF, pages, events)."""
    prepared = casefile_prepare(incident, actor=actor, progress=progress)
    rendered = case_pdf(
        prepared.html, attachments=prepared.attachments, progress=progress, pages_hint=prepared.expected_pages
    )
    progress(90, "signing")
    signed = sign_pdf(rendered.pdf, reason=f"Sequester case file {incident.reference}")
    return signed, rendered.pages, prepared.events


def casefile_render(export_id: UUID | str) -> CaseFileExport:
    """The Celery task's body: render one requested export (a finished one is left as it is)."""
    export = casefile_get(export_id)
    if export.status in (CaseFileExport.Status.DONE, CaseFileExport.Status.FAILED):
        return export
    CaseFileExport.objects.filter(pk=export.pk).update(
        status=CaseFileExport.Status.RENDERING, started_at=timezone.now(), progress=1, stage="starting"
    )
    actor = Actor(name=export.requested_by.get_username(), type="user")
    try:
        pdf, pages, events = casefile_build(export.incident, actor=actor, progress=_progress(export.pk))
    except Exception as exc:
        log.exception("casefile.failed", export=str(export.pk))
        CaseFileExport.objects.filter(pk=export.pk).update(
            status=CaseFileExport.Status.FAILED, finished_at=timezone.now(), error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        return casefile_get(export.pk)
    digest = hashlib.sha256(pdf).hexdigest()
    with transaction.atomic():
        CaseFileDocument.objects.create(export=export, pdf=pdf)
        CaseFileExport.objects.filter(pk=export.pk).update(
            status=CaseFileExport.Status.DONE,
            finished_at=timezone.now(),
            progress=100,
            stage="ready",
            sha256=digest,
            size=len(pdf),
            pages=pages,
            events=events,
            signer=signer_subject()[:300],
        )
        audit_record(
            action="casefile.exported",
            actor=actor,
            subject_type="incident",
            subject_id=export.incident.reference,
            incident=export.incident.reference,
            data={"export": str(export.pk), "sha256": digest, "pages": pages, "events": events},
        )
    return casefile_get(export.pk)


def casefile_download(*, export_id: UUID | str, actor: Actor) -> tuple[CaseFileExport, bytes]:
    export = casefile_get(export_id)
    document = CaseFileDocument.objects.filter(export=export).first()
    if export.status != CaseFileExport.Status.DONE or document is None:
        raise CaseFileNotReady(f"case file {export.pk} is {export.get_status_display().lower()}")
    audit_record(
        action="casefile.downloaded",
        actor=actor,
        subject_type="incident",
        subject_id=export.incident.reference,
        incident=export.incident.reference,
        data={"export": str(export.pk), "sha256": export.sha256},
    )
    return export, bytes(document.pdf)
