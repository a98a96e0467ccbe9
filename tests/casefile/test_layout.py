"""What the case file says and how it is laid out, on one closed case rendered once for the module: a use
recorded without a reason or a system, a TOTP decision next to the WebAuthn ones (with the TOTP enrolled
just before it). Each test replays one defect seen in a case file (issue 14, bugs 5 and 6)."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import transaction
from pypdf import PdfReader

from approvals import policies
from audit.actors import Actor
from audit.services import EventDraft, audit_record_many
from casefile.render import case_pdf
from casefile.services import casefile_prepare
from keyvault.models import KeyVersion
from tests.approvals.conftest import decide, open_request, register, setup_totp
from tests.casefile.scenario import run_case
from tests.conftest import PASSWORD
from webapp import roles

pytestmark = pytest.mark.django_db
PT = 4 / 3  # CSS px per pt


@dataclass
class Laid:
    reference: str
    html: str
    pdf: bytes
    text: str
    pages: int
    expected_pages: int
    stages: list[tuple[int, str]]
    document: Any  # WeasyPrint's laid-out document (its boxes)
    fingerprints: list[str]
    totp_approver: str


def _people() -> tuple[dict[str, User], dict[str, Any]]:
    people = {}
    for slug in (roles.COMMANDER, roles.SECURITY_LEAD, roles.KEY_CUSTODIAN, roles.LEGAL_DPO, roles.CISO):
        user = User.objects.create_user(username=f"lay-{slug}", email=f"{slug}@example.test", password=PASSWORD)
        user.groups.add(Group.objects.get(name=slug))
        people[slug] = user
    return people, {slug: register(user) for slug, user in people.items()}


def _build() -> Laid:
    from weasyprint import HTML

    people, authenticators = _people()
    incident = run_case(people, authenticators, tag="-lay")
    key = incident.incident_keys.filter(via="signal").values_list("key_id", flat=True).first()
    audit_record_many(  # one use with neither a reason nor a system: the summary must not say "each with why"
        actor=Actor(name="night-batch", type="service"),
        drafts=[EventDraft(action="key.decrypt", subject_type="key", subject_id=key, incident=incident.reference)],
    )
    lead = people[roles.SECURITY_LEAD]
    totp = setup_totp(lead)  # enrolled just before the decision: shown beside it
    request = open_request(
        policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(key)]}, incident=incident.reference
    )
    decide(lead, request, totp=totp.at(time.time() + totp.interval))
    stages: list[tuple[int, str]] = []
    prepared = casefile_prepare(incident, actor=Actor(name="lay-auditor", type="user"), progress=lambda *s: None)
    rendered = case_pdf(
        prepared.html,
        attachments=prepared.attachments,
        progress=lambda p, s: stages.append((p, s)),
        pages_hint=prepared.expected_pages,
    )
    reader = PdfReader(io.BytesIO(rendered.pdf))
    text = "\n".join(page.extract_text() for page in reader.pages).replace("\x00", "")
    return Laid(
        reference=incident.reference,
        html=prepared.html,
        pdf=rendered.pdf,
        text=text,
        pages=rendered.pages,
        expected_pages=prepared.expected_pages,
        stages=stages,
        document=HTML(string=prepared.html).render(),
        fingerprints=list(
            KeyVersion.objects.filter(key__incident_links__incident=incident).values_list("fingerprint", flat=True)
        ),
        totp_approver=lead.username,
    )


@pytest.fixture(scope="module")
def laid(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Laid]:
    """Built in a transaction rolled back after the module: the other tests never see this case."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield _build()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _boxes(box: Any) -> Iterator[Any]:
    yield box
    for child in getattr(box, "children", ()):
        yield from _boxes(child)


def test_the_summary_counts_the_uses_without_a_reason_or_a_system(laid):
    summary = _flat(laid.text.split("Executive summary", 2)[-1].split("Timeline")[0])
    assert "each with who, why and which system" not in summary
    assert "1 without a reason" in summary
    assert "1 without an affected system" in summary


def test_signals_name_their_keys_in_words_not_as_a_python_value(laid):
    signals = _flat(laid.text.split("Signals", 2)[-1].split("Detection configuration")[0])
    assert "[{" not in signals
    assert "{'" not in signals
    assert "alias cf-kek-lay" in signals


def test_fingerprints_are_printed_in_full(laid):
    squeezed = re.sub(r"\s", "", laid.text)
    assert laid.fingerprints
    for fingerprint in laid.fingerprints:
        assert fingerprint in squeezed, fingerprint


def test_column_headings_never_break_inside_a_word_nor_overflow(laid):
    from weasyprint.formatting_structure import boxes

    checked = 0
    for page in laid.document.pages:
        for cell in _boxes(page._page_box):
            if not (isinstance(cell, boxes.TableCellBox) and cell.element_tag == "th"):
                continue
            words = set("".join(cell.element.itertext()).split())  # the heading as written
            texts = [t for t in _boxes(cell) if isinstance(t, boxes.TextBox)]
            for line in (line for line in _boxes(cell) if isinstance(line, boxes.LineBox)):
                line_text = "".join(t.text for t in _boxes(line) if isinstance(t, boxes.TextBox))
                for word in line_text.split():
                    assert word in words, (word, sorted(words))  # a fragment: the word was broken
            right = max((t.position_x + t.width for t in texts), default=0)
            assert right <= cell.content_box_x() + cell.width + 0.5, (sorted(words), right)
            checked += 1
    assert checked > 40


def test_the_appendix_is_set_at_7_pt_or_more(laid):
    from weasyprint.formatting_structure import boxes

    sizes = [
        box.style["font_size"]
        for page in laid.document.pages
        for block in _boxes(page._page_box)
        if isinstance(block, boxes.BlockBox)
        and block.element_tag == "section"
        and block.element.get("id") == "appendix"
        for box in _boxes(block)
        if isinstance(box, boxes.TextBox) and box.element_tag in ("pre", "span")
    ]
    assert sizes
    assert min(sizes) >= 7 * PT - 0.01


def test_sections_and_event_numbers_are_internal_links(laid):
    reader = PdfReader(io.BytesIO(laid.pdf))
    destinations = set(reader.named_destinations)
    for anchor in ("summary", "timeline", "keys", "blast-radius", "approvals", "uses", "checklist", "appendix"):
        assert anchor in destinations, anchor
    assert any(name.startswith("e-") for name in destinations)
    targets = []
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            annotation = annotation.get_object()
            if annotation.get("/Subtype") != "/Link":
                continue
            action = annotation.get("/A")
            target = annotation.get("/Dest") or (action.get_object().get("/D") if action is not None else None)
            targets.append(str(target))
    assert any("timeline" in t for t in targets), targets[:20]
    assert any("e-" in t for t in targets), targets[:20]  # an event number in a table links to its line


def test_the_page_estimate_is_honest(laid):
    assert abs(laid.expected_pages - laid.pages) <= max(1, laid.pages // 5), (laid.expected_pages, laid.pages)
    for _, stage in laid.stages:
        found = re.search(r"page (\d+) of about (\d+)", stage)
        if found:
            assert int(found.group(2)) > int(found.group(1)) or int(found.group(2)) >= laid.pages, stage


def test_a_totp_decision_says_a_code_was_checked_not_a_signature(laid):
    text = _flat(laid.text)
    assert "one-time code checked at decision time" in text
    assert "cannot be re-verified" in text
    assert "assertion signature re-verified at export against the enrolled public key" in text  # the WebAuthn ones
    assert "signature valid" not in text
    # The TOTP enrolment just before the decision is shown beside it.
    squeezed = re.sub(r"\s", "", laid.text)
    near = squeezed.split(f"Factorchangesof{laid.totp_approver}nearthisdecision:")
    assert len(near) > 1, squeezed[-3000:]
    assert "TOTPenrolled" in near[-1].split("Approver")[0].split(".Factor")[0] or any(
        "TOTPenrolled" in part[:400] for part in near[1:]
    )
    # The checklist's answer (a table cell, whose lines the PDF's text interleaves with its neighbours').
    checklist = laid.html.split('id="checklist"')[-1]
    assert "1 with a TOTP one-time code checked at decision time" in checklist
    assert "step-up signature re-verified" not in checklist
