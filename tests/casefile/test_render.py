"""The case file itself: sections and facts in the PDF's text, PDF/A-3 with its evidence attached and
round-tripping, a PAdES signature pyHanko validates — and that one changed byte breaks."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pikepdf
import pytest
from asn1crypto import pem, x509  # type: ignore[import-untyped]
from django.conf import settings
from django.core.management import CommandError, call_command
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from approvals.models import ApprovalRequest
from audit.actors import Actor
from audit.offline_verifier import verify_bundle
from audit.signing import public_key_b64, public_key_raw
from casefile.services import casefile_build
from casefile.signing import signature_check
from webapp.settings.generated import generated_signing_certificate

pytestmark = pytest.mark.django_db
VERIFIER = Path(__file__).resolve().parents[2] / "audit" / "offline_verifier.py"
SECTIONS = (
    "Executive summary",
    "Timeline",
    "Signals",
    "Affected keys",
    "State history",
    "Blast radius",
    "Approvals",
    "Notifications and acknowledgements",
    "Regulatory obligations",
    "Controlled uses of the keys",
    "CEK-19 audit checklist",
    "Appendix: audit events",
)


@pytest.fixture
def rendered(closed_case):
    stages: list[tuple[int, str]] = []
    pdf, pages, events = casefile_build(
        closed_case, actor=Actor(name="p-auditor", type="user"), progress=lambda p, s: stages.append((p, s))
    )
    return closed_case, pdf, pages, events, stages


def _text(pdf: bytes) -> str:
    # A font subset with many glyphs (the procedure appendix) is embedded with two-byte codes, which pypdf
    # extracts with NULs between the characters: drop them.
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).replace("\x00", "")


def _trust_root():
    _, _, der = pem.unarmor(Path(str(settings.SEQUESTER_CASEFILE_CERT_FILE)).read_bytes())
    return x509.Certificate.load(der)


def test_the_pdf_holds_every_section_and_the_key_facts(rendered):
    case, pdf, pages, events, stages = rendered
    text = " ".join(_text(pdf).split())
    for section in SECTIONS:
        assert section in text, section
    confirm = ApprovalRequest.objects.get(incident=case.reference, action="confirm_compromise")
    for fact in (
        case.reference,
        "cf-kek",
        "cf-prompts",
        "prompt_store",
        "p-security_lead",
        "p-key_custodian",
        "assertion signature re-verified at export",
        confirm.payload_hash[:40],
        "https://scanner.example/secrets",
        "cardholder-db",
        "rewrap_decrypt",
    ):
        assert fact in text.replace(" ", "") or fact in text, fact
    for item in [f"AG-{i}" for i in range(1, 12)] + ["CCM-1", "CCM-2", "CCM-3"]:
        assert item in text, item
    assert f"page {pages} of {pages}" in text
    assert events >= 30
    assert [p for p, _ in stages] == sorted(p for p, _ in stages)  # progress only moves forward
    assert any("laying out page" in s for _, s in stages)


def test_it_is_pdf_a_3b_with_the_evidence_attached_and_round_tripping(rendered):
    case, pdf, _, events, _ = rendered
    reader = PdfReader(io.BytesIO(pdf))
    xmp = reader.root_object["/Metadata"].get_object().get_data().decode()  # type: ignore[union-attr]
    assert "<pdfaid:part>3</pdfaid:part>" in xmp or 'pdfaid:part="3"' in xmp
    assert "<pdfaid:conformance>B</pdfaid:conformance>" in xmp or 'pdfaid:conformance="B"' in xmp
    attachments = reader.attachments
    assert set(attachments) == {"audit-bundle.json", "evidence.json"}
    bundle = json.loads(attachments["audit-bundle.json"][0])
    report = verify_bundle(bundle, pinned_keys=[public_key_raw()])
    assert report.ok, report.problems
    assert report.events - report.redacted == events
    assert all(
        e["incident"] == case.reference or e["subject_type"] == "key" for e in bundle["events"] if not e.get("redacted")
    )
    evidence = json.loads(attachments["evidence.json"][0])
    assert evidence["incident"]["reference"] == case.reference
    decisions = [d for a in evidence["approvals"] for d in a["decisions"]]
    assert len(decisions) == 4
    assert all(d["verified"] for d in decisions)
    assert {d["document"]["payload_hash"] for d in decisions} == {
        r.payload_hash for r in ApprovalRequest.objects.filter(incident=case.reference)
    }
    assert [item["id"] for item in evidence["checklist"]][:3] == ["AG-1", "AG-2", "AG-3"]


def test_the_signature_validates_and_one_changed_byte_breaks_it(rendered):
    _, pdf, _, _, _ = rendered
    context = ValidationContext(trust_roots=[_trust_root()], allow_fetching=False)
    signature = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    status = validate_pdf_signature(signature, context)
    assert status.intact
    assert status.valid
    assert status.bottom_line
    assert signature.field_name == "SequesterCaseFile"
    covered_start, covered_length = (int(n) for n in list(signature.sig_object["/ByteRange"])[:2])
    assert covered_start == 0
    position = covered_length // 2  # a byte of the document the signature covers
    tampered = bytearray(pdf)
    tampered[position] ^= 0x01
    broken = PdfFileReader(io.BytesIO(bytes(tampered))).embedded_signatures[0]
    assert not validate_pdf_signature(broken, context).intact


def test_the_offline_verifier_checks_the_pdf_itself(rendered, tmp_path):
    _, pdf, _, _, _ = rendered
    path = tmp_path / "case.pdf"
    path.write_bytes(pdf)
    alone = tmp_path / "auditor"
    alone.mkdir()
    shutil.copy(VERIFIER, alone / "offline_verifier.py")
    command = [sys.executable, "-I", str(alone / "offline_verifier.py"), str(path), "--public-key", public_key_b64()]
    result = subprocess.run(
        [*command, "--certificate", str(settings.SEQUESTER_CASEFILE_CERT_FILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "VERIFIED"
    unchecked = subprocess.run(command, capture_output=True, text=True, timeout=60)  # no certificate given
    assert unchecked.returncode == 1
    assert "NOT VERIFIED" in unchecked.stdout


def test_the_verifier_runs_from_a_checkout_too(rendered, tmp_path):
    """``python audit/offline_verifier.py``: the script's directory comes first on sys.path, so no module
    beside it may shadow a standard one (``audit/types.py`` once did, and the verifier crashed)."""
    _, pdf, _, _, _ = rendered
    path = tmp_path / "case.pdf"
    path.write_bytes(pdf)
    beside = {p.stem for p in VERIFIER.parent.glob("*.py")} | {p.name for p in VERIFIER.parent.iterdir() if p.is_dir()}
    assert not beside & set(sys.stdlib_module_names), beside & set(sys.stdlib_module_names)
    result = subprocess.run(
        [
            sys.executable,
            str(VERIFIER),
            str(path),
            "--public-key",
            public_key_b64(),
            "--certificate",
            str(settings.SEQUESTER_CASEFILE_CERT_FILE),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "VERIFIED"


def test_casefile_verify_checks_the_signature_and_the_bundle(rendered, tmp_path):
    _, pdf, _, _, _ = rendered
    good = tmp_path / "case.pdf"
    good.write_bytes(pdf)
    out = io.StringIO()
    call_command("casefile_verify", str(good), stdout=out)
    assert "[ok] signature: intact, covers the whole file" in out.getvalue()
    assert out.getvalue().rstrip().endswith("VERIFIED")

    appended = tmp_path / "appended.pdf"
    appended.write_bytes(pdf + b"\n% a line added after signing\n")
    report = signature_check(appended.read_bytes())
    assert report.intact
    assert not report.whole_file
    assert not report.ok
    assert report.problem == "bytes were added after the signature: the signature does not cover the whole file"

    stranger = tmp_path / "stranger.crt"
    generated_signing_certificate(tmp_path / "other", "Someone else")
    shutil.copy(tmp_path / "other" / "casefile-signing.crt", stranger)
    assert signature_check(pdf, trust_cert_file=str(stranger)).problem == (
        "the signer's certificate does not chain to the given trust anchor(s) (--certificate)"
    )
    with pytest.raises(CommandError, match="NOT VERIFIED"):
        call_command("casefile_verify", str(good), "--trust", str(stranger), stdout=io.StringIO())


def test_the_signed_file_stays_pdf_a_3b_info_and_xmp_agree_and_each_attachment_is_listed_once(rendered):
    """Checked on the signed file, after pyHanko's incremental update: PDF/A wants every Info entry to
    have an equal XMP property; ``/AF`` lists each associated file once; the document is tagged."""
    _, pdf, _, _, _ = rendered
    with pikepdf.open(io.BytesIO(pdf)) as document:
        info = {str(k): str(v) for k, v in document.docinfo.items()}
        with document.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as xmp:
            assert xmp["pdfaid:part"] == "3"
            assert xmp["pdfaid:conformance"] == "B"
            equivalents = {
                "/Producer": xmp.get("pdf:Producer"),
                "/Title": xmp.get("dc:title"),
                "/Creator": xmp.get("xmp:CreatorTool"),
                "/Subject": xmp.get("dc:description"),
                "/Author": ", ".join(xmp.get("dc:creator") or []),
            }
        for entry, value in info.items():
            if entry in equivalents:
                assert equivalents[entry] == value, (entry, value, equivalents[entry])
        assert not {"/ModDate", "/CreationDate"} & set(info) or "xmp:ModifyDate" in str(xmp)
        af = [spec.objgen for spec in document.Root.AF]
        assert len(af) == len(set(af)) == 2
        assert sorted(str(document.get_object(o).UF) for o in af) == ["audit-bundle.json", "evidence.json"]
        assert all(str(document.get_object(o).AFRelationship) == "/Data" for o in af)
        assert "/StructTreeRoot" in document.Root
        assert bool(document.Root.MarkInfo.Marked)
        assert str(document.Root.Lang) == "en"
