"""The case file as PDF/A-3b: HTML (a Django template) laid out by WeasyPrint, with the evidence JSON
attached inside. The appendix is pre-formatted text in blocks — a table of thousands of rows is what
makes WeasyPrint slow and hungry — so 10,000 events lay out in seconds."""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import pydyf  # type: ignore[import-untyped]
from django.template.loader import render_to_string

from audit.offline_verifier import key_id
from casefile.checklist import ChecklistItem
from casefile.gather import CaseData, Section, UseRecord

APPENDIX_BLOCK = 250  # events per <pre> block
USES_SHOWN = 100
GROUPS_SHOWN = 200
KEYS_SHOWN = 300
SECTION_SLOTS = {
    "key_hierarchy": "New key hierarchy",
    "refused_uses": "Refused uses",
    "notifications": "Notifications and acknowledgements",
    "obligations": "Regulatory obligations",
}
Progress = Callable[[int, str], None]


@dataclass(frozen=True, slots=True)
class RenderedCase:
    pdf: bytes
    pages: int


DITTO = "″"
WHO_WHAT_WHERE_CHARS = 58
REASON_CHARS = 64  # with the above, a line stays within the page at 5.4 pt: no wrapping to lay out


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())  # one line, whatever the reason held
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _who_what_where(event: dict[str, Any], aliases: dict[str, str]) -> str:
    subject_id = str(event["subject_id"])
    subject = aliases.get(subject_id) or (subject_id[:8] if len(subject_id) == 36 else subject_id[:24])
    system = f" @{event['affected_system']}" if event["affected_system"] else ""
    described = f"{event['actor']} {event['action']} {event['subject_type']}:{subject}{system}"
    return _cut(described, WHO_WHAT_WHERE_CHARS)


def appendix_line(event: dict[str, Any], who_what_where: str) -> str:
    """One line per event. WeasyPrint's cost is per glyph drawn (about 1 ms per 100 characters on this
    machine), so the line is compact: sequence number, time of day, who/what/where (``″`` when the
    same as the line above), the reason and the hash's first 10 hex digits. The whole event, data
    included, is in the attached bundle."""
    reason = _cut(str(event["reason"] or ""), REASON_CHARS)
    return f"{event['seq']} {str(event['occurred_at'])[11:19]} {who_what_where} · {reason} {str(event['hash'])[:10]}"


def _blocks(events: Iterable[dict[str, Any]], aliases: dict[str, str]) -> list[str]:
    """Blocks of APPENDIX_BLOCK lines, a day heading wherever the date changes (times are UTC)."""
    blocks: list[str] = []
    current: list[str] = []
    day = previous = ""
    for event in events:
        if str(event["occurred_at"])[:10] != day:
            day, previous = str(event["occurred_at"])[:10], ""
            current.append(f"— {day} (UTC) —")
        described = _who_what_where(event, aliases)
        current.append(appendix_line(event, DITTO if described == previous else described))
        previous = described
        if len(current) >= APPENDIX_BLOCK:
            blocks.append("\n".join(current))
            current = []
    if current:
        blocks.append("\n".join(current))
    return blocks


def _use_groups(uses: list[UseRecord]) -> list[dict[str, Any]]:
    """Uses grouped by who, key, operation, system and purpose: a forensic job's 10,000 decrypts with
    10,000 different justifications are one row (its first justification and how many differ); each
    use stays in the appendix and in evidence.json."""
    groups: dict[tuple[str, str, str, str, str], dict[str, Any]] = {}
    for use in uses:
        key = (use.actor, use.key_alias, use.action, use.affected_system, use.purpose)
        group = groups.setdefault(
            key,
            {
                "actor": use.actor,
                "key": use.key_alias,
                "action": use.action,
                "system": use.affected_system,
                "purpose": use.purpose,
                "justification": use.justification,
                "justifications": set(),
                "count": 0,
                "events": 0,
                "first": use.seq,
                "last": use.seq,
            },
        )
        group["justifications"].add(use.justification)
        group["count"] += use.count
        group["events"] += 1
        group["last"] = use.seq
    for group in groups.values():
        group["other_justifications"] = len(group.pop("justifications")) - 1
    return sorted(groups.values(), key=lambda g: g["first"])


def _summary(data: CaseData, checklist: list[ChecklistItem]) -> list[str]:
    incident = data.incident
    roots, cascade = data.root_keys, [k for k in data.keys if k.via == "cascade"]
    first_suspension = min(
        (e.occurred_at for k in data.keys for e in k.history if e.action == "key.suspended"), default=None
    )
    confirm = [a for a in data.approvals if a.action == "confirm_compromise"]
    rewrapped, to_rewrap = sum(r.done for r in data.rewraps), sum(r.total for r in data.rewraps)
    evidenced = sum(1 for item in checklist if item.tone == "ok")
    paragraphs = [
        f"{incident.reference} ({incident.get_severity_display().lower()} severity) was opened on "
        f"{incident.opened_at:%Y-%m-%d at %H:%M:%S} UTC for {len(roots)} reported key(s); "
        f"{len(cascade)} key(s) they wrapped were contained with them"
        + (f", from {first_suspension:%Y-%m-%d %H:%M:%S} UTC" if first_suspension else "")
        + ". Containment happened in the transaction that recorded the signal: the gate refused those keys to "
        "encrypt from that commit on.",
    ]
    if confirm:
        last = confirm[-1]
        approvers = ", ".join(f"{d.approver} ({d.role}, {d.verdict})" for d in last.decisions) or "no decision yet"
        paragraphs.append(f"Confirmation of the compromise: {last.status}, decided by {approvers}.")
    if incident.resolution:
        paragraphs.append(f"Resolution: {incident.get_resolution_display().lower()}.")
    restricted = sum(1 for k in data.keys if k.restricted_at)
    paragraphs.append(
        f"{restricted} of {len(data.keys)} key(s) verified decrypt-only on their backend; "
        f"{sum(1 for k in data.keys if k.replacement)} replaced; {rewrapped} of {to_rewrap} wrapped item(s) "
        f"re-encrypted under replacement keys. {sum(u.count for u in data.uses)} controlled use(s) of the keys "
        f"were recorded, each with who, why and which system."
    )
    paragraphs.append(
        f"{evidenced} of {len(checklist)} CEK-19 checklist items are evidenced by this case; the others say what "
        f"the case holds. The appendix lists {data.event_count} audit event(s); the attached bundle lets anyone "
        f"re-check them offline against the deployment's signed checkpoints."
    )
    return paragraphs


def _sections(data: CaseData) -> list[tuple[str, Section]]:
    """The known slots first (each said to be empty when nothing was recorded), then the other apps'
    sections in the order they registered; appendices (``appendix:…``) are laid out at the end."""
    shown = []
    for slot, title in SECTION_SLOTS.items():
        section = data.sections.get(slot)
        if section is None:
            what = title.lower()
            section = Section(title, [], [], note=f"No {what} recorded for this incident.")
        shown.append((slot, section))
    for slot, section in data.sections.items():
        if slot not in SECTION_SLOTS and section is not None and not slot.startswith("appendix:"):
            shown.append((slot, section))
    return shown


def _appendices(data: CaseData) -> list[Section]:
    return [s for slot, s in data.sections.items() if slot.startswith("appendix:") and s is not None]


def case_html(
    data: CaseData,
    checklist: list[ChecklistItem],
    *,
    events: Iterable[dict[str, Any]],
    bundle: dict[str, Any],
    picture: str,
    signer: str,
    audit_public_key: str,
    signing: dict[str, str] | None = None,
) -> str:
    """``signing``: the certificate's SHA-256 fingerprint and what the signing time rests on (cover page)."""
    appendix = _blocks(events, {k.id: k.alias for k in data.keys})
    approvals = [
        asdict(a) | {"payload_json": json.dumps(a.payload, indent=1, sort_keys=True, ensure_ascii=False)[:4000]}
        for a in data.approvals
    ]
    seqs = [e["seq"] for e in bundle["events"]]
    return render_to_string(
        "casefile/case.html",
        {
            "incident": data.incident,
            "generated_at": f"{data.generated_at:%Y-%m-%d %H:%M:%S} UTC",
            "generated_by": data.generated_by,
            "signer": signer,
            "audit_public_key": audit_public_key,
            "audit_key_id": key_id(base64.b64decode(audit_public_key)),
            "signing": signing or {},
            "summary": _summary(data, checklist),
            "timeline": data.timeline,
            "timeline_total": data.timeline_total,
            "signals": data.signals,
            "detection": data.detection,
            "keys": data.keys[:KEYS_SHOWN],
            "keys_truncated": max(0, len(data.keys) - KEYS_SHOWN),
            "keys_with_history": [k for k in data.keys[:KEYS_SHOWN] if k.history],
            "blast_radius": data.incident.blast_radius,
            "picture": picture,
            "approvals": approvals,
            "sections": _sections(data),
            "appendices": _appendices(data),
            "exercise": data.incident.exercise,
            "use_groups": (use_groups := _use_groups(data.uses))[:GROUPS_SHOWN],
            "use_groups_total": len(use_groups),
            "uses_shown": data.uses[:USES_SHOWN],
            "uses_total": len(data.uses),
            "exceptions": data.exceptions,
            "grants": data.grants,
            "checklist": checklist,
            "event_count": data.event_count,
            "checkpoints": bundle["checkpoints"],
            "bundle_first": seqs[0] if seqs else 0,
            "bundle_last": seqs[-1] if seqs else 0,
            "appendix": appendix,
        },
    )


class _PageProgress(logging.Handler):
    """WeasyPrint logs each page it lays out: turn that into the export's progress."""

    PAGE = re.compile(r"Creating layout - Page (\d+)")

    def __init__(self, progress: Progress, expected_pages: int, span: tuple[int, int]) -> None:
        super().__init__(logging.INFO)
        self.progress, self.expected, self.span, self.last = progress, max(expected_pages, 1), span, -1

    def emit(self, record: logging.LogRecord) -> None:
        found = self.PAGE.search(record.getMessage())
        if not found:
            return
        page = int(found.group(1))
        start, end = self.span
        percent = start + min(page, self.expected) * (end - start) // self.expected
        if percent != self.last and (page == 1 or page % 10 == 0):
            self.last = percent
            self.progress(percent, f"laying out page {page} (about {self.expected})")


@contextmanager
def _page_progress(progress: Progress | None, expected_pages: int, span: tuple[int, int]) -> Iterator[None]:
    if progress is None:
        yield
        return
    logger = logging.getLogger("weasyprint.progress")
    handler = _PageProgress(progress, expected_pages, span)
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.INFO)
    logger.propagate = False  # the pages are progress, not log lines
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def expected_pages(events: int) -> int:
    """About 100 appendix events fit a page, plus the report's own pages."""
    return 8 + events // 100


def _one_af_entry_per_attachment(document: Any, pdf: Any) -> None:
    """WeasyPrint lists each attachment twice in the catalogue's /AF (from the name tree, then from
    the file specifications): keep each once, in order."""
    entries = pdf.catalog.get("AF")
    if entries:
        unique: list[Any] = []
        for entry in entries:
            if entry not in unique:
                unique.append(entry)
        pdf.catalog["AF"] = pydyf.Array(unique)


def case_pdf(
    html: str,
    *,
    attachments: dict[str, tuple[bytes, str]],
    progress: Progress | None = None,
    pages_hint: int = 10,
    span: tuple[int, int] = (30, 85),
) -> RenderedCase:
    """PDF/A-3b with each attachment (name → (content, description)) embedded as associated data."""
    from weasyprint import HTML, Attachment  # heavy (Pango, fonts): imported by the process that renders

    with _page_progress(progress, pages_hint, span):
        document = HTML(string=html).render(pdf_variant="pdf/a-3b", pdf_tags=True)
    if progress is not None:
        progress(span[1], f"writing {len(document.pages)} pages")
    pdf = document.write_pdf(
        pdf_variant="pdf/a-3b",
        pdf_tags=True,  # tagged (structure tree, /MarkInfo): PDF/A-3b and tags, not a PDF/UA claim
        finisher=_one_af_entry_per_attachment,
        attachments=[
            Attachment(string=content, name=name, description=description, relationship="Data")
            for name, (content, description) in attachments.items()
        ],
    )
    assert pdf is not None
    return RenderedCase(pdf=pdf, pages=len(document.pages))
