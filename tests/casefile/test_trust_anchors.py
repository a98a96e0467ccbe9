"""The trust anchors an auditor needs, published: the case-file certificate (with its fingerprint, and the
previous ones after a rotation) and the checkpoint keys; the /audit/ page says how to install the verifier."""

from __future__ import annotations

import json
from importlib.metadata import version

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from django.conf import settings
from django.test import override_settings
from django.urls import reverse

from audit.offline_verifier import fingerprint, read_certificates, read_public_keys
from audit.signing import public_key_raw
from webapp.settings.generated import generated_signing_certificate

pytestmark = pytest.mark.django_db


def _fingerprint(path: str) -> str:
    certificate = x509.load_pem_x509_certificate(open(path, "rb").read())  # noqa: SIM115
    return fingerprint(certificate.public_bytes(Encoding.DER))


def test_the_certificate_is_published_with_its_fingerprint_and_previous_ones_stay_listed(client, tmp_path):
    current = _fingerprint(str(settings.SEQUESTER_CASEFILE_CERT_FILE))
    response = client.get(reverse("casefile-certificate"))  # public: no sign-in
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-pem-file")
    text = response.content.decode()
    assert f"# SHA-256: {current}" in text
    assert "# Sequester case-file signing certificate: current" in text
    assert [fingerprint(c.dump()) for c in read_certificates(response.content)] == [current]

    old_cert, _ = generated_signing_certificate(tmp_path / "2025", "Sequester case files 2025")
    with override_settings(SEQUESTER_CASEFILE_PREVIOUS_CERT_FILES=[old_cert]):
        rotated = client.get(reverse("casefile-certificate")).content
    anchors = [fingerprint(c.dump()) for c in read_certificates(rotated)]
    assert anchors == [current, _fingerprint(old_cert)]  # the verifier trusts both: old case files still verify
    assert b"previous (signed earlier case files)" in rotated
    assert b"# valid: " in rotated


def test_the_audit_page_shows_both_anchors_and_how_to_install_the_verifier(client, people):
    client.force_login(people["auditor"])
    page = client.get(reverse("audit-page")).content.decode()
    assert _fingerprint(str(settings.SEQUESTER_CASEFILE_CERT_FILE)) in page
    assert reverse("casefile-certificate") in page
    assert f"pip install pyhanko=={version('pyhanko')} cryptography=={version('cryptography')}" in page
    assert "--certificate sequester-casefile-certificate.pem --public-key sequester-audit-key.json" in page
    assert reverse("key-inventory") in page


def test_the_verifier_reads_the_published_key_document_as_it_is(client, tmp_path):
    document = client.get(reverse("audit-key")).json()
    assert document["keys"][0]["current"] is True
    path = tmp_path / "sequester-audit-key.json"
    path.write_text(client.get(reverse("audit-key")).content.decode())
    assert read_public_keys(str(path)) == [public_key_raw()]
    assert read_public_keys(document["pem"]) == [public_key_raw()]
    assert read_public_keys(document["public_key"]) == [public_key_raw()]


def test_a_rotated_checkpoint_key_stays_listed_and_pinnable(client, tmp_path):
    """Checkpoints signed before a rotation keep their key in the published document: pinning that
    document verifies old bundles too."""
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import PublicFormat
    from django.utils import timezone

    from audit.models import AuditCheckpoint
    from audit.offline_verifier import key_id

    old = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    AuditCheckpoint.objects.create(
        seq=1,
        head_hash="0" * 64,
        count=1,
        created_at=timezone.now(),
        key_id=key_id(old),
        public_key=base64.b64encode(old).decode(),
        signature="x",
    )
    document = client.get(reverse("audit-key")).json()
    listed = {entry["key_id"]: entry for entry in document["keys"]}
    assert listed[key_id(old)]["current"] is False
    assert listed[key_id(old)]["first_checkpoint"]
    path = tmp_path / "sequester-audit-key.json"
    path.write_text(json.dumps(document))
    assert read_public_keys(str(path)) == [public_key_raw(), old]
