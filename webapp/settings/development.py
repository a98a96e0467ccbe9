"""The embedded default that ``make run`` uses: generated secrets under ``var/``."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable

from webapp.settings.base import *  # noqa: F403
from webapp.settings.base import VAR_DIR


def _generated_secret(name: str, make: Callable[[], str] = lambda: secrets.token_urlsafe(50)) -> str:
    path = VAR_DIR / "secrets" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text(make(), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


SECRET_KEY = SECRET_KEY or _generated_secret("django_secret_key")  # noqa: F405
# The local keystore's master key, generated once: losing var/secrets/ loses every local key.
SEQUESTER_MASTER_KEY = SEQUESTER_MASTER_KEY or base64.urlsafe_b64decode(  # noqa: F405
    _generated_secret("master_key", lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
)
