"""Sign a case file (PAdES baseline, pyHanko) with the deployment's certificate and key."""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from django.conf import settings

from casefile.errors import SigningNotConfigured

if TYPE_CHECKING:  # pyHanko is imported by the process that signs or verifies, not at start-up
    from pyhanko.sign import signers

FIELD_NAME = "SequesterCaseFile"


@functools.cache
def _signer(cert_file: str, key_file: str, password: str | None) -> signers.SimpleSigner:
    from pyhanko.sign import signers

    passphrase = password.encode() if password else None
    signer: signers.SimpleSigner | None = signers.SimpleSigner.load(  # type: ignore[no-untyped-call]
        key_file, cert_file, key_passphrase=passphrase
    )
    if signer is None:
        raise SigningNotConfigured(f"cannot load the case-file signing key {key_file} with certificate {cert_file}")
    return signer


def casefile_signer() -> signers.SimpleSigner:
    cert, key = settings.SEQUESTER_CASEFILE_CERT_FILE, settings.SEQUESTER_CASEFILE_KEY_FILE
    if not (cert and key):
        raise SigningNotConfigured("SEQUESTER_CASEFILE_CERT_FILE and SEQUESTER_CASEFILE_KEY_FILE are not set")
    return _signer(cert, key, settings.SEQUESTER_CASEFILE_KEY_PASSWORD)


def signer_subject() -> str:
    certificate = casefile_signer().signing_cert
    return str(certificate.subject.human_friendly) if certificate is not None else ""


def sign_pdf(pdf: bytes, *, reason: str) -> bytes:
    """An incremental update that adds the signature: the PDF/A document underneath is unchanged."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        reason=reason,
        location="Sequester",
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    signed: io.BytesIO = signers.sign_pdf(writer, metadata, signer=casefile_signer())
    return signed.getvalue()


@dataclass(frozen=True, slots=True)
class SignatureReport:
    """What a PAdES validator says of a case file's signature."""

    signed: bool
    intact: bool
    trusted: bool
    whole_file: bool
    signer: str
    signed_at: str
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.signed and self.intact and self.trusted and self.whole_file


def signature_check(pdf: bytes, *, trust_cert_file: str | None = None) -> SignatureReport:
    """Validate the case-file signature against a trust root (default: the deployment's certificate).
    ``whole_file``: no byte was added after the signature (the signed revision is the last)."""
    from asn1crypto import pem, x509  # type: ignore[import-untyped]
    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    unsigned = SignatureReport(False, False, False, False, "", "", "")
    try:
        signatures = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    except (PdfReadError, ValueError, KeyError) as exc:
        return replace(unsigned, problem=f"not a readable PDF: {exc}")
    mine = [s for s in signatures if s.field_name == FIELD_NAME]
    if not mine:
        return replace(unsigned, problem=f"no {FIELD_NAME} signature")
    trust = trust_cert_file or settings.SEQUESTER_CASEFILE_CERT_FILE
    if not trust:
        raise SigningNotConfigured("no trust root: pass one or set SEQUESTER_CASEFILE_CERT_FILE")
    with open(trust, "rb") as handle:
        raw = handle.read()
    root = x509.Certificate.load(pem.unarmor(raw)[2] if pem.detect(raw) else raw)
    status = validate_pdf_signature(mine[0], ValidationContext(trust_roots=[root], allow_fetching=False))
    whole = status.coverage is not None and status.coverage.name == "ENTIRE_FILE"
    report = SignatureReport(
        signed=True,
        intact=bool(status.intact),
        trusted=bool(status.trusted),
        whole_file=whole,
        signer=str(status.signing_cert.subject.human_friendly) if status.signing_cert else "",
        signed_at=status.signer_reported_dt.isoformat() if status.signer_reported_dt else "",
    )
    if not report.intact:
        return replace(report, problem="the signed bytes were changed")
    if not report.trusted:
        return replace(report, problem="the signer's certificate does not chain to the trust root")
    if not whole:
        return replace(report, problem="bytes were added after the signature")
    return report
