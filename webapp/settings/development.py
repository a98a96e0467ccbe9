"""The embedded default that ``make run`` uses: generated secrets under ``var/``."""

from __future__ import annotations

import secrets

from webapp.settings.base import *  # noqa: F403
from webapp.settings.base import VAR_DIR


def _generated_secret(name: str) -> str:
    path = VAR_DIR / "secrets" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


SECRET_KEY = SECRET_KEY or _generated_secret("django_secret_key")  # noqa: F405
