"""PDF/A documents of the evaluation (the procedure, the period report), laid out and signed exactly as
case files are (``casefile.render``, ``casefile.signing``): one way to make and verify a signed file."""

from __future__ import annotations

import json
from typing import Any

from django.template.loader import render_to_string

from casefile.render import case_pdf
from casefile.signing import sign_pdf
from evaluation.models import PlaybookVersion
from evaluation.services.playbook import procedure_content


def signed_pdf(html: str, *, attachments: dict[str, tuple[bytes, str]], reason: str) -> bytes:
    return sign_pdf(case_pdf(html, attachments=attachments).pdf, reason=reason)


def playbook_pdf(version: PlaybookVersion | None) -> bytes:
    """The procedure as a signed PDF/A-3b: a published version as it was frozen, or (None) what runs now."""
    content: dict[str, Any] = version.content if version is not None else procedure_content()
    history = list(PlaybookVersion.objects.select_related("owner", "proposed_by").order_by("number"))
    html = render_to_string(
        "evaluation/playbook_pdf.html", {"c": content, "version": version, "history": history if version else []}
    )
    data = json.dumps(content, sort_keys=True, indent=1, ensure_ascii=False).encode()
    label = f"v{version.number}" if version is not None else "as running"
    return signed_pdf(
        html,
        attachments={"procedure.json": (data, "The procedure as data (its SHA-256 is the version's content hash)")},
        reason=f"Sequester incident-response procedure {label}",
    )
