"""The case file as PDF/A-3b: HTML (a Django template) laid out by WeasyPrint, with the evidence JSON
attached inside. The appendix is pre-formatted text in blocks — a table of thousands of rows is what
makes WeasyPrint slow and hungry — so 10,000 events lay out in seconds."""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import pydyf  # type: ignore[import-untyped]
from django.template.loader import render_to_string

from audit.offline_verifier import key_id
from casefile.appendix import Appendix, Line, appendix_build
from casefile.checklist import ChecklistItem
from casefile.gather import CaseData, Section, UseRecord

USES_SHOWN = 25
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


def _key_reference(reference: Any) -> str:
    """How a signal named a key (``{"alias": "cf-kek"}``), as words rather than a Python value."""
    if isinstance(reference, dict):
        return ", ".join(f"{name} {value}" for name, value in reference.items() if value not in (None, ""))
    return str(reference)


def _signals(data: CaseData) -> list[dict[str, Any]]:
    return [
        {
            "received_at": s.received_at,
            "source": s.source,
            "type": s.type,
            "received_via": s.received_via,
            "keys": "; ".join(_key_reference(r) for r in (s.key_references or [])[:20])
            + (f"; and {len(s.key_references) - 20} more" if len(s.key_references or []) > 20 else ""),
        }
        for s in data.signals
    ]


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


def _summary(data: CaseData, checklist: list[ChecklistItem], appendix: Appendix) -> list[str]:
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
        f"re-encrypted under replacement keys. " + _uses_sentence(data.uses)
    )
    if appendix.summarised:
        listed = (
            f"The appendix lists {appendix.listed:,} of the {data.event_count:,} audit events one by one and "
            f"summarises the other {appendix.in_runs + appendix.omitted:,} (runs of the same actor, action, key and "
            "system as one line each"
            + (f"; {appendix.omitted:,} counted by action only" if appendix.omitted else "")
            + "); every event is, in full, in the attached bundle, which lets anyone re-check them offline "
            "against the deployment's signed checkpoints."
        )
    else:
        listed = (
            f"The appendix lists the {data.event_count:,} audit event(s); the attached bundle lets anyone re-check "
            "them offline against the deployment's signed checkpoints."
        )
    paragraphs.append(
        f"{evidenced} of {len(checklist)} CEK-19 checklist items are evidenced by this case; the others say what "
        f"the case holds. {listed}"
    )
    return paragraphs


def _uses_sentence(uses: list[UseRecord]) -> str:
    """How many controlled uses, and — never claimed for all when it is not so — how many lack a reason
    or an affected system."""
    items = sum(u.count for u in uses)
    no_reason = [u for u in uses if not u.justification.strip()]
    no_system = [u for u in uses if not u.affected_system.strip()]
    if not uses:
        return "No controlled use of the keys was recorded."
    if not no_reason and not no_system:
        return f"{items:,} controlled use(s) of the keys were recorded, each with who, why and which system."
    gaps = []
    if no_reason:
        gaps.append(f"{len(no_reason):,} without a reason")
    if no_system:
        gaps.append(f"{len(no_system):,} without an affected system")
    return (
        f"{items:,} controlled use(s) of the keys were recorded in {len(uses):,} event(s), each with who; "
        f"of those events {' and '.join(gaps)} (see the checklist, AG-7)."
    )


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


@dataclass(frozen=True, slots=True)
class CaseDocument:
    html: str
    expected_pages: int
    appendix: Appendix


def _referenced(data: CaseData, use_groups: list[dict[str, Any]], uses_shown: list[UseRecord]) -> set[int]:
    """The events the report names by number: each gets its own appendix line, and a link to it."""
    seqs = {e.seq for e in data.timeline} | {e.seq for k in data.keys[:KEYS_SHOWN] for e in k.history}
    seqs |= {g[end] for g in use_groups for end in ("first", "last")}
    return seqs | {u.seq for u in uses_shown}


def case_html(
    data: CaseData,
    checklist: list[ChecklistItem],
    *,
    lines: list[Line],
    checkpoints: list[dict[str, Any]],
    picture: str,
    signer: str,
    audit_public_key: str,
    signing: dict[str, str] | None = None,
) -> CaseDocument:
    """``lines``: the appendix's events (from the verified bundle); ``signing``: the certificate's SHA-256
    fingerprint and what the signing time rests on (cover page)."""
    use_groups = _use_groups(data.uses)
    uses_shown = data.uses[:USES_SHOWN]
    appendix = appendix_build(lines, referenced=_referenced(data, use_groups[:GROUPS_SHOWN], uses_shown))
    approvals = [
        asdict(a) | {"payload_json": json.dumps(a.payload, indent=1, sort_keys=True, ensure_ascii=False)[:4000]}
        for a in data.approvals
    ]
    sections = _sections(data)
    html = render_to_string(
        "casefile/case.html",
        {
            "incident": data.incident,
            "generated_at": f"{data.generated_at:%Y-%m-%d %H:%M:%S} UTC",
            "generated_by": data.generated_by,
            "signer": signer,
            "audit_public_key": audit_public_key,
            "audit_key_id": key_id(base64.b64decode(audit_public_key)),
            "signing": signing or {},
            "summary": _summary(data, checklist, appendix),
            "timeline": data.timeline,
            "timeline_total": data.timeline_total,
            "signals": _signals(data),
            "detection": data.detection,
            "keys": data.keys[:KEYS_SHOWN],
            "keys_truncated": max(0, len(data.keys) - KEYS_SHOWN),
            "keys_with_history": [k for k in data.keys[:KEYS_SHOWN] if k.history],
            "blast_radius": data.incident.blast_radius,
            "picture": picture,
            "approvals": approvals,
            "sections": sections,
            "appendices": _appendices(data),
            "exercise": data.incident.exercise,
            "use_groups": use_groups[:GROUPS_SHOWN],
            "use_groups_total": len(use_groups),
            "uses_shown": uses_shown,
            "uses_total": len(data.uses),
            "exceptions": data.exceptions,
            "grants": data.grants,
            "checklist": checklist,
            "event_count": data.event_count,
            "checkpoints": checkpoints,
            "bundle_first": lines[0].seq if lines else 0,
            "bundle_last": lines[-1].seq if lines else 0,
            "appendix": appendix,
            "anchored": appendix.anchored,
        },
    )
    return CaseDocument(html, _expected_pages(data, appendix, approvals, sections, len(use_groups)), appendix)


# What a page holds, in lines of body text (8.5 pt) and of appendix (7 pt), measured on rendered case files.
BODY_LINES_PER_PAGE = 62
APPENDIX_LINES_PER_PAGE = 84


def _expected_pages(
    data: CaseData,
    appendix: Appendix,
    approvals: list[dict[str, Any]],
    sections: list[tuple[str, Section]],
    groups: int,
) -> int:
    """An estimate of the page count from what the report holds (a table row is about two lines)."""
    assets: list[Any] = list((data.incident.blast_radius or {}).get("data_assets", []))
    body = 40  # contents, summary, headings, the blast radius' picture and facts
    body += 2 * (len(data.timeline) + len(data.signals) + len(data.detection) + 3 * len(data.keys[:KEYS_SHOWN]))
    body += sum(len(k.history) for k in data.keys[:KEYS_SHOWN]) // 3 + 3 * len(assets)
    body += sum(12 + str(p["payload_json"]).count("\n") + 3 * len(p["decisions"]) for p in approvals)
    body += sum(6 + 2 * len(section.rows) + section.text.count("\n") for _, section in sections)
    body += 2 * (min(groups, GROUPS_SHOWN) + len(data.uses[:USES_SHOWN]) + len(data.exceptions) + len(data.grants))
    body += 6 * 14  # the checklist
    appendices = sum(6 + 2 * len(s.rows) + s.text.count("\n") for s in _appendices(data))
    pages = 1 + -(-body // BODY_LINES_PER_PAGE)  # the cover, then the body
    pages += -(-(appendix.lines + len(appendix.blocks) + appendix.runs) // APPENDIX_LINES_PER_PAGE)
    return pages + -(-appendices // BODY_LINES_PER_PAGE)


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
        expected = max(self.expected, page + 1)  # an estimate, never below what is already laid out
        percent = start + page * (end - start) // expected
        if percent != self.last and (page == 1 or page % 10 == 0):
            self.last = percent
            self.progress(percent, f"laying out page {page} of about {expected}")


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
