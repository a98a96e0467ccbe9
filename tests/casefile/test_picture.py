"""The blast-radius picture, laid out as the case file lays it out: every label drawn (column headings,
key, asset and system names) and nothing past the page's content box."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.template.loader import render_to_string
from pypdf import PdfReader

from casefile.picture import blast_radius_svg
from keyvault.models import DataAsset, System
from keyvault.services import lifecycle
from keyvault.services.blast_radius import key_blast_radius
from tests.keyvault.conftest import SYSTEM

pytestmark = pytest.mark.django_db
MM = 72 / 25.4
SIDE_MARGIN_MM, MARGIN_MM = 14, 16  # the case file's @page margins (casefile/_style.html)
WIDEST_GLYPH = 0.72  # DejaVu Sans Bold's widest common glyphs, in ems: an upper bound for a run's width


def _estate() -> tuple[list[str], dict[str, Any]]:
    """Two reported keys, one wrapping a third; assets on systems whose names are long."""
    billing = System.objects.create(name="billing-reconciliation-platform-eu-west-1", owner="finance")
    assistant = System.objects.create(name="assistant", owner="AI platform")
    ledger = DataAsset.objects.create(
        name="general-ledger-archive-2019-2026",
        system=billing,
        data_categories=["payment"],
        record_count=3_400_000,
        jurisdictions=["EU", "UK"],
    )
    prompts = DataAsset.objects.create(
        name="prompt-archive", system=assistant, data_categories=["personal_data"], record_count=5_000
    )
    kek = lifecycle.key_create(
        actor=SYSTEM, alias="pic-kek", purpose="wraps", system_ids=[billing.id], data_asset_ids=[ledger.id]
    )
    lifecycle.key_create(
        actor=SYSTEM, alias="pic-prompts", purpose="prompts", parent_id=kek.id, data_asset_ids=[prompts.id]
    )
    other = lifecycle.key_create(actor=SYSTEM, alias="pic-signing-key", purpose="signs", system_ids=[assistant.id])
    roots = [str(kek.id), str(other.id)]
    return roots, key_blast_radius([kek.id, other.id]).as_dict()


def _laid_out(svg: str) -> bytes:
    """The picture in an A4 page with the case file's own styles, under its section heading."""
    from weasyprint import HTML

    style = render_to_string("casefile/_style.html", {"exercise": False})
    pdf = HTML(string=f"<html><head>{style}</head><body><section><h2>Blast radius</h2>{svg}</section></body></html>")
    written = pdf.write_pdf()
    assert isinstance(written, bytes)
    return written


def _runs(pdf: bytes) -> list[tuple[str, float, float]]:
    """Each text run drawn in the first page's body (not its running header and footer): (text, left edge,
    an upper bound of its right edge), in pt."""
    runs: list[tuple[str, float, float]] = []
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    bottom, top = MARGIN_MM * MM, float(page.mediabox.height) - MARGIN_MM * MM

    def visit(text: str, cm: list[float], tm: list[float], _font: Any, size: float) -> None:
        if text.strip() and bottom <= cm[3] * tm[5] + cm[5] <= top:
            left = cm[0] * tm[4] + cm[4]
            runs.append((text.strip(), left, left + abs(cm[0]) * size * WIDEST_GLYPH * len(text.strip())))

    page.extract_text(visitor_text=visit)
    return runs


def test_the_picture_draws_every_label_within_the_page():
    roots, radius = _estate()
    pdf = _laid_out(blast_radius_svg(roots, radius))
    runs = _runs(pdf)
    drawn = " ".join(text for text, _, _ in runs)
    for label in (
        "Reported keys",
        "Data assets exposed",
        "Systems",
        "pic-kek",
        "pic-signing-key",
        "general-ledger-archive-2019-2026",
        "prompt-archive",
        "assistant",
        "billing-reconciliation-platform",  # a long name is cut with an ellipsis, never dropped
        "3,400,000 records",
    ):
        assert label in drawn, (label, drawn)
    page_width = float(PdfReader(io.BytesIO(pdf)).pages[0].mediabox.width)
    left_edge, right_edge = SIDE_MARGIN_MM * MM, page_width - SIDE_MARGIN_MM * MM
    for text, left, right in runs:
        assert left >= left_edge - 0.5, (text, left)
        assert right <= right_edge + 0.5, (text, right, right_edge)
    systems_heading = next(left for text, left, _ in runs if text == "Systems")
    assert systems_heading > (left_edge + right_edge) / 2  # the third column is on the page, at its right
