"""The auditor's check, offline: ``offline_verifier.py`` run as a lone file in a clean environment that
holds only its stated dependencies (pyHanko, cryptography), against the trust anchors the deployment
publishes — and the exact tampering cases it must refuse. ``casefile_verify`` runs the same code."""

from __future__ import annotations

import base64
import copy
import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from audit.actors import Actor
from audit.offline_verifier import canonical_json, chain_hash, checkpoint_statement, content_digest, key_id
from casefile.services import casefile_build
from tests.clean_env import clean_python
from webapp.settings.generated import generated_signing_certificate

pytestmark = [pytest.mark.django_db, pytest.mark.slow]  # each renders and signs a case file
VERIFIER = Path(__file__).resolve().parents[2] / "audit" / "offline_verifier.py"


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """An interpreter whose site-packages holds pyHanko and cryptography (and what they need), nothing
    else; the verifier is a lone copy in a directory of its own."""
    root = tmp_path_factory.mktemp("auditor")
    python, held = clean_python(root / "env")
    alone = root / "verifier"
    alone.mkdir()
    shutil.copy(VERIFIER, alone / "offline_verifier.py")
    assert not any(name.lower().startswith(("django", "sequester")) for name in held), held
    return python, alone / "offline_verifier.py"


def run(clean, *args: object) -> subprocess.CompletedProcess[str]:
    python, verifier = clean
    return subprocess.run(
        [str(python), "-I", str(verifier), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=verifier.parent,
    )


@pytest.fixture
def published(client, tmp_path):
    """The two trust anchors, downloaded as an auditor would (public URLs, no sign-in), saved as files."""
    certificate = tmp_path / "sequester-casefile-certificate.pem"
    certificate.write_bytes(client.get(reverse("casefile-certificate")).content)
    key = tmp_path / "sequester-audit-key.json"
    key.write_bytes(client.get(reverse("audit-key")).content)
    return certificate, key


@pytest.fixture
def case_pdf(closed_case, tmp_path):
    pdf, _, _ = casefile_build(closed_case, actor=Actor(name="p-auditor", type="user"), progress=lambda p, s: None)
    path = tmp_path / "case.pdf"
    path.write_bytes(pdf)
    return path


def _flip(data: bytes, position: int) -> bytes:
    changed = bytearray(data)
    changed[position] ^= 0x01
    return bytes(changed)


def _object_offset(data: bytes, objgen: tuple[int, int]) -> int:
    """Where the last definition of an object starts (the revision a reader uses)."""
    offsets = [m.start() for m in re.finditer(rb"(?<![0-9])%d %d obj" % objgen, data)]
    assert offsets, objgen
    return offsets[-1]


def _byte_in_a_page(pdf: bytes) -> bytes:
    with pikepdf.open(io.BytesIO(pdf)) as document:
        contents = document.pages[0].obj["/Contents"]
        objgen = (contents[0] if isinstance(contents, pikepdf.Array) else contents).objgen
    start = pdf.index(b"stream", _object_offset(pdf, objgen)) + len(b"stream\n")
    return _flip(pdf, start + 20)


def _byte_in_the_info_dictionary(pdf: bytes) -> bytes:
    with pikepdf.open(io.BytesIO(pdf)) as document:
        objgen = document.trailer["/Info"].objgen
    title = pdf.index(b"/Title", _object_offset(pdf, objgen))
    opening = pdf.index(b"(", title)
    assert pdf[title + len(b"/Title") : opening].strip() == b"", "a literal title string is expected"
    return pdf[: opening + 3] + bytes([pdf[opening + 3] ^ 0x20]) + pdf[opening + 4 :]  # one letter's case


def _appended_revision(pdf: bytes) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    info = writer.trailer["/Info"]
    info["/Title"] = generic.TextStringObject("Case file: nothing happened")
    writer.update_container(info)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_the_published_anchors_verify_an_intact_case_file_in_a_clean_environment(clean, published, case_pdf):
    certificate, key = published
    result = run(clean, case_pdf, "--certificate", certificate, "--public-key", key)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "VERIFIED"
    assert "[ok] signature: intact, covers the whole file" in result.stdout
    assert "chains to a given trust anchor" in result.stdout
    assert "[ok] checkpoint key:" in result.stdout
    assert ": pinned" in result.stdout
    assert "the signer's claim" in result.stdout  # no TSA here: the report says what the time rests on
    # In order: the signature first, then the bundle.
    names = [line.split("] ", 1)[1].split(":")[0] for line in lines if line.startswith("  [")]
    assert names.index("signature") < names.index("certificate") < names.index("audit bundle")


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (_byte_in_a_page, "signature: the signed bytes were changed"),
        (_byte_in_the_info_dictionary, "signature: the signed bytes were changed"),
        (_appended_revision, "signature: bytes were added after the signature"),
    ],
    ids=["a byte in a page", "a byte in the Info dictionary", "an appended revision"],
)
def test_each_tampering_of_the_pdf_is_refused_and_named(clean, published, case_pdf, tmp_path, tamper, expected):
    certificate, key = published
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(tamper(case_pdf.read_bytes()))
    result = run(clean, tampered, "--certificate", certificate, "--public-key", key)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"PROBLEM {expected}" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("NOT VERIFIED")
    assert "VERIFIED" not in result.stdout.replace("NOT VERIFIED", "")
    # The server's own command reaches the same verdict with the same code.
    with pytest.raises(CommandError, match="NOT VERIFIED"):
        call_command("casefile_verify", str(tampered), stdout=io.StringIO())


def test_a_case_file_signed_with_a_foreign_certificate_is_refused(clean, published, closed_case, tmp_path):
    certificate, key = published
    cert_file, key_file = generated_signing_certificate(tmp_path / "mallory", "Sequester case files")
    with override_settings(SEQUESTER_CASEFILE_CERT_FILE=cert_file, SEQUESTER_CASEFILE_KEY_FILE=key_file):
        pdf, _, _ = casefile_build(closed_case, actor=Actor(name="mallory", type="user"), progress=lambda p, s: None)
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(pdf)
    result = run(clean, forged, "--certificate", certificate, "--public-key", key)
    assert result.returncode == 1, result.stdout
    assert "PROBLEM certificate: the signer's certificate does not chain to the given trust anchor" in result.stdout
    assert "[ok] signature: intact, covers the whole file" in result.stdout  # intact, but not ours
    with pytest.raises(CommandError, match="NOT VERIFIED"):
        call_command("casefile_verify", str(forged), stdout=io.StringIO())


def test_without_a_certificate_or_a_pinned_key_it_never_says_verified(clean, published, case_pdf):
    certificate, key = published
    result = run(clean, case_pdf, "--public-key", key)
    assert result.returncode == 1
    assert "[not checked] signature: no --certificate given" in result.stdout
    assert "PROBLEM signature: not checked" in result.stdout
    result = run(clean, case_pdf, "--certificate", certificate)
    assert result.returncode == 1
    assert "PROBLEM checkpoint key: no checkpoint key pinned" in result.stdout
    result = run(clean, case_pdf, "--certificate", certificate, "--trust-bundle-key")
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == "VERIFIED (checkpoint key NOT pinned: taken from the bundle, as asked)"
    assert "warning: the checkpoint key(s) were taken from the bundle itself" in result.stdout


def _resigned(bundle: dict[str, Any], *, change_seq_index: int) -> dict[str, Any]:
    """Mallory changes an event, recomputes the chain after it and signs new checkpoints with her own key,
    which she puts in the bundle's public_keys: self-consistent, and a lie."""
    forged = copy.deepcopy(bundle)
    mallory = Ed25519PrivateKey.generate()
    raw = mallory.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    events = forged["events"]
    full = [i for i, e in enumerate(events) if not e.get("redacted")]
    events[full[change_seq_index]]["reason"] = "routine maintenance, nothing leaked"
    previous = forged["start"]["hash"]
    for event in events:
        event["prev_hash"] = previous
        if event.get("redacted"):
            event["hash"] = chain_hash(previous, event["content_digest"])
        else:
            event["hash"] = chain_hash(previous, content_digest(event))
        previous = event["hash"]
    hashes = {e["seq"]: e["hash"] for e in events}
    for checkpoint in forged["checkpoints"]:
        checkpoint["head_hash"] = hashes.get(checkpoint["seq"], checkpoint["head_hash"])
        checkpoint["key_id"] = key_id(raw)
        checkpoint["signature"] = base64.b64encode(mallory.sign(checkpoint_statement(checkpoint))).decode()
    forged["public_keys"] = {key_id(raw): base64.b64encode(raw).decode()}
    return forged


def test_an_unpinned_resigned_checkpoint_is_refused(clean, published, case_pdf, tmp_path):
    _, key = published
    with pikepdf.open(case_pdf) as document:
        bundle = json.loads(bytes(document.attachments["audit-bundle.json"].get_file().read_bytes()))
    forged = tmp_path / "forged-bundle.json"
    forged.write_bytes(canonical_json(_resigned(bundle, change_seq_index=3)))
    unpinned = run(clean, forged)
    assert unpinned.returncode == 1, unpinned.stdout
    assert "PROBLEM checkpoint key: no checkpoint key pinned" in unpinned.stdout
    assert "[ok] audit bundle" in unpinned.stdout  # the forgery is self-consistent: only pinning catches it
    pinned = run(clean, forged, "--public-key", key)
    assert pinned.returncode == 1
    assert re.search(r"PROBLEM checkpoint at \d+: checkpoint: signed by unknown key", pinned.stdout), pinned.stdout
    original = tmp_path / "bundle.json"
    original.write_bytes(canonical_json(bundle))
    assert run(clean, original, "--public-key", key).returncode == 0


def test_unreadable_inputs_and_anchors_exit_2(clean, published, case_pdf, tmp_path):
    certificate, key = published
    bad = tmp_path / "not-a-key.json"
    bad.write_text('{"public_key": "AAAA"}')
    assert run(clean, case_pdf, "--certificate", certificate, "--public-key", bad).returncode == 2
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    assert run(clean, case_pdf, "--certificate", junk, "--public-key", key).returncode == 2
    assert run(clean, tmp_path / "missing.pdf").returncode == 2
