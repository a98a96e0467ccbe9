"""Sign a case file (PAdES, pyHanko) with the deployment's certificate and key, timestamped by the
configured RFC 3161 authority; check one with the offline verifier's code."""

from __future__ import annotations

import functools
import io
from typing import TYPE_CHECKING

from django.conf import settings

from audit.offline_verifier import SignatureResult, pdf_signature_check, read_certificates
from casefile.certificates import casefile_trust_anchors, tsa_trust_anchors
from casefile.errors import SigningNotConfigured, TimestampUnavailable

if TYPE_CHECKING:  # pyHanko is imported by the process that signs or verifies, not at start-up
    from pyhanko.sign import signers
    from pyhanko.sign.timestamps import HTTPTimeStamper

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


def _timestamper() -> HTTPTimeStamper | None:
    from pyhanko.sign.timestamps import HTTPTimeStamper

    url = settings.SEQUESTER_TSA_URL
    return HTTPTimeStamper(url, timeout=settings.SEQUESTER_TSA_TIMEOUT_SECONDS) if url else None


def signing_time_statement() -> str:
    """What the cover page says of the signing time: an RFC 3161 timestamp, or the signer's claim."""
    if settings.SEQUESTER_TSA_URL:
        return (
            "The signature carries an RFC 3161 timestamp from the time-stamping authority "
            f"{settings.SEQUESTER_TSA_URL} (PAdES B-T): the signing time is the authority's, not only ours."
        )
    return (
        "No time-stamping authority is configured: the signing time in the signature is the signer's claim "
        "(PAdES baseline B), not proven by a third party."
    )


def sign_pdf(pdf: bytes, *, reason: str) -> bytes:
    """An incremental update that adds the signature — with an RFC 3161 timestamp when a TSA is
    configured (PAdES B-T) — leaving the PDF/A document underneath unchanged. The signing step names
    itself the producer in the Info dictionary and the XMP metadata alike (PDF/A wants them to agree)."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.metadata.model import VENDOR
    from pyhanko.sign import fields, signers
    from pyhanko.sign.timestamps import TimestampRequestError

    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        reason=reason,
        location="Sequester",
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    if "/Info" in writer.trailer:
        info = writer.trailer["/Info"]
        info["/Producer"] = generic.TextStringObject(VENDOR)  # pyHanko writes VENDOR into the XMP
        writer.update_container(info)
    try:
        signed: io.BytesIO = signers.sign_pdf(writer, metadata, signer=casefile_signer(), timestamper=_timestamper())
    except TimestampRequestError as exc:
        raise TimestampUnavailable(
            f"the time-stamping authority {settings.SEQUESTER_TSA_URL} did not answer: {exc.__cause__ or exc}"
        ) from exc
    return signed.getvalue()


def signature_check(pdf: bytes, *, trust_cert_file: str | None = None) -> SignatureResult:
    """The case-file signature, checked by the offline verifier's own code against the published
    certificates (current and previous), or against ``trust_cert_file``."""
    if trust_cert_file:
        with open(trust_cert_file, "rb") as handle:
            trust = read_certificates(handle.read())
    else:
        trust = casefile_trust_anchors()
    return pdf_signature_check(pdf, trust=trust, tsa_trust=tsa_trust_anchors())
