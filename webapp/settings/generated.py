"""Secrets the embedded default (and the tests) generate once under ``var/``: never in production."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path


def generated_secret(directory: Path, name: str, make: Callable[[], str] = lambda: secrets.token_urlsafe(50)) -> str:
    path = directory / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text(make(), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def generated_key(directory: Path, name: str) -> bytes:
    """32 random bytes, kept base64 in ``directory/name``."""
    encoded = generated_secret(directory, name, lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    return base64.urlsafe_b64decode(encoded)


def generated_signing_certificate(directory: Path, common_name: str) -> tuple[str, str]:
    """A self-signed RSA-3072 certificate and its key (PEM files), made once: (cert path, key path).
    Enough to sign case files on a workstation; production brings a certificate from its own CA.
    RSA, not ECDSA: an ECDSA signature makes the PDF declare ISO 32002 (PDF 2.0), beyond PDF/A-3."""
    cert_path, key_path = directory / "casefile-signing.crt", directory / "casefile-signing.key"
    if not (cert_path.exists() and key_path.exists()):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Sequester (self-signed, development)"),
            ]
        )
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .sign(key, hashes.SHA256())
        )
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        key_path.chmod(0o600)
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return str(cert_path), str(key_path)
