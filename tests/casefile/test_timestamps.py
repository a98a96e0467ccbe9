"""PAdES B-T: each case file's signature carries an RFC 3161 timestamp from the configured authority —
here a real one, OpenSSL's ``ts -reply`` behind an HTTP front, started for the test with a CA and TSA
certificate of its own. An authority that does not answer fails the export (no silent downgrade)."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from pypdf import PdfReader

from audit.actors import Actor
from audit.offline_verifier import pdf_signature_check, read_certificates
from audit.signing import public_key_b64
from casefile.errors import TimestampUnavailable
from casefile.services import casefile_build
from casefile.signing import signature_check
from tests.servers import free_port
from tests.tsa import time_stamping_authority

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
VERIFIER = Path(__file__).resolve().parents[2] / "audit" / "offline_verifier.py"


@pytest.fixture(scope="module")
def tsa(tmp_path_factory):
    with time_stamping_authority(tmp_path_factory.mktemp("tsa")) as authority:
        yield authority


def _build(case):
    return casefile_build(case, actor=Actor(name="p-auditor", type="user"), progress=lambda p, s: None)[0]


def test_the_signature_carries_a_trusted_timestamp_from_the_authority(closed_case, tsa, tmp_path):
    with override_settings(SEQUESTER_TSA_URL=tsa.url, SEQUESTER_TSA_CERT_FILE=str(tsa.ca_certificate)):
        before = datetime.now(UTC) - timedelta(seconds=5)
        pdf = _build(closed_case)
        result = signature_check(pdf)
    assert result.ok, result.problems
    assert result.timestamp_trusted
    assert "Sequester test TSA" in result.timestamp_authority
    assert before <= datetime.fromisoformat(result.timestamp) <= datetime.now(UTC) + timedelta(seconds=5)
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "RFC 3161 timestamp from the time-stamping authority" in text

    # Without the authority's certificate the time is reported as its claim, not checked; with it, ok.
    trust = read_certificates(Path(str(settings.SEQUESTER_CASEFILE_CERT_FILE)).read_bytes())
    untrusted = pdf_signature_check(pdf, trust=trust)
    assert untrusted.ok
    assert untrusted.timestamp
    assert not untrusted.timestamp_trusted
    path = tmp_path / "case.pdf"
    path.write_bytes(pdf)
    command = [
        sys.executable,
        "-I",
        str(VERIFIER),
        str(path),
        "--public-key",
        public_key_b64(),
        "--certificate",
        str(settings.SEQUESTER_CASEFILE_CERT_FILE),
    ]
    plain = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "[note] timestamp:" in plain.stdout
    assert "so this time is its claim, not checked" in plain.stdout
    checked = subprocess.run(
        [*command, "--tsa-certificate", str(tsa.ca_certificate)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout
    assert "[ok] timestamp:" in checked.stdout


def test_an_authority_that_does_not_answer_fails_the_export(closed_case):
    with (
        override_settings(SEQUESTER_TSA_URL=f"http://127.0.0.1:{free_port()}/"),
        pytest.raises(TimestampUnavailable, match="did not answer"),
    ):
        _build(closed_case)


def test_without_an_authority_the_cover_says_the_time_is_the_signers_claim(closed_case):
    assert not settings.SEQUESTER_TSA_URL
    pdf = _build(closed_case)
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "the signing time in the signature is the signer's claim" in text
    assert not signature_check(pdf).timestamp
