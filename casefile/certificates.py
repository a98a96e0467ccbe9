"""The trust anchors auditors need for case files: the signing certificate in use and those it replaced
(``SEQUESTER_CASEFILE_PREVIOUS_CERT_FILES``), each with its SHA-256 fingerprint and validity, published
at ``/.well-known/sequester-casefile-certificate.pem`` and on ``/audit/``."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from django.conf import settings

from audit.offline_verifier import fingerprint, read_certificates
from casefile.errors import SigningNotConfigured


@dataclass(frozen=True, slots=True)
class PublishedCertificate:
    subject: str
    fingerprint: str  # SHA-256 of the DER, AB:CD:…
    not_before: datetime
    not_after: datetime
    current: bool
    pem: str

    @property
    def der(self) -> bytes:
        return x509.load_pem_x509_certificate(self.pem.encode()).public_bytes(Encoding.DER)


def _first_certificate(path: str, *, current: bool) -> PublishedCertificate:
    certificates = x509.load_pem_x509_certificates(Path(path).read_bytes())
    certificate = certificates[0]  # the signer's own; a chain file's others are its issuers
    return PublishedCertificate(
        subject=certificate.subject.rfc4514_string(),
        fingerprint=fingerprint(certificate.public_bytes(Encoding.DER)),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        current=current,
        pem=certificate.public_bytes(Encoding.PEM).decode(),
    )


@functools.cache
def _certificates(current: str, previous: tuple[str, ...]) -> tuple[PublishedCertificate, ...]:
    return (
        _first_certificate(current, current=True),
        *(_first_certificate(path, current=False) for path in previous),
    )


def casefile_certificates() -> list[PublishedCertificate]:
    """The certificate that signs case files now, then the earlier ones (newest rotation first)."""
    current = settings.SEQUESTER_CASEFILE_CERT_FILE
    if not current:
        raise SigningNotConfigured("SEQUESTER_CASEFILE_CERT_FILE is not set")
    return list(_certificates(current, tuple(settings.SEQUESTER_CASEFILE_PREVIOUS_CERT_FILES)))


def casefile_certificates_pem() -> str:
    """What ``/.well-known/sequester-casefile-certificate.pem`` serves: every certificate, each with a
    comment saying which it is; ``offline_verifier.py --certificate`` reads them all."""
    parts = []
    for certificate in casefile_certificates():
        role = "current" if certificate.current else "previous (signed earlier case files)"
        parts.append(
            f"# Sequester case-file signing certificate: {role}\n"
            f"# subject: {certificate.subject}\n"
            f"# SHA-256: {certificate.fingerprint}\n"
            f"# valid: {certificate.not_before:%Y-%m-%d %H:%M} to {certificate.not_after:%Y-%m-%d %H:%M} UTC\n"
            f"{certificate.pem}"
        )
    return "\n".join(parts)


def casefile_trust_anchors() -> list[Any]:
    """The published certificates as trust anchors for ``offline_verifier.pdf_signature_check``."""
    return read_certificates(casefile_certificates_pem().encode())


def tsa_trust_anchors() -> list[Any]:
    path = settings.SEQUESTER_TSA_CERT_FILE
    return read_certificates(Path(path).read_bytes()) if path else []
