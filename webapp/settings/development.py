"""The embedded default that ``make run`` uses: generated secrets under ``var/``."""

from __future__ import annotations

from webapp.settings.base import *  # noqa: F403
from webapp.settings.base import SEQUESTER_CASEFILE_CERT_FILE, SEQUESTER_CASEFILE_KEY_FILE, VAR_DIR
from webapp.settings.generated import generated_key, generated_secret, generated_signing_certificate

_SECRETS = VAR_DIR / "secrets"
SECRET_KEY = SECRET_KEY or generated_secret(_SECRETS, "django_secret_key")  # noqa: F405
# The local keystore's master key, generated once: losing var/secrets/ loses every local key.
SEQUESTER_MASTER_KEY = SEQUESTER_MASTER_KEY or generated_key(_SECRETS, "master_key")  # noqa: F405
SEQUESTER_AUDIT_SIGNING_KEY = SEQUESTER_AUDIT_SIGNING_KEY or generated_key(_SECRETS, "audit_signing_key")  # noqa: F405
if not (SEQUESTER_CASEFILE_CERT_FILE and SEQUESTER_CASEFILE_KEY_FILE):
    SEQUESTER_CASEFILE_CERT_FILE, SEQUESTER_CASEFILE_KEY_FILE = generated_signing_certificate(
        _SECRETS, "Sequester case files (development)"
    )
