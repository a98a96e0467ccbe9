"""Sign a case file (PAdES baseline, pyHanko) with the deployment's certificate and key."""

from __future__ import annotations

import functools
import io

from django.conf import settings
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from casefile.errors import SigningNotConfigured

FIELD_NAME = "SequesterCaseFile"


@functools.cache
def _signer(cert_file: str, key_file: str, password: str | None) -> signers.SimpleSigner:
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
