"""The configured backends, built once per process."""

from __future__ import annotations

import threading

from django.conf import settings

from keyvault.backends.base import BackendError, KeyBackend
from keyvault.backends.local import LocalBackend

_backends: dict[str, KeyBackend] = {}
_lock = threading.Lock()


class BackendNotConfigured(BackendError):
    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"the {name} backend is not configured: {why}", permanent=True)
        self.backend = name


def _build(name: str) -> KeyBackend:
    if name == "local":
        if not settings.SEQUESTER_MASTER_KEY:
            raise BackendNotConfigured(name, "SEQUESTER_MASTER_KEY (or _FILE) is not set")
        return LocalBackend(settings.SEQUESTER_MASTER_KEY)
    if name == "pkcs11":
        if not settings.SEQUESTER_PKCS11_MODULE:
            raise BackendNotConfigured(name, "SEQUESTER_PKCS11_MODULE is not set")
        if not settings.SEQUESTER_PKCS11_PIN:
            raise BackendNotConfigured(name, "SEQUESTER_PKCS11_PIN (or _FILE) is not set")
        from keyvault.backends.pkcs11_hsm import Pkcs11Backend

        return Pkcs11Backend(
            module=settings.SEQUESTER_PKCS11_MODULE,
            token_label=settings.SEQUESTER_PKCS11_TOKEN_LABEL,
            pin=settings.SEQUESTER_PKCS11_PIN,
        )
    raise BackendNotConfigured(name, "unknown backend")


def backend_for(name: str) -> KeyBackend:
    backend = _backends.get(name)
    if backend is None:
        with _lock:
            backend = _backends.get(name) or _build(name)
            _backends[name] = backend
    return backend


def backends_reset() -> None:
    """Forget built backends (tests that change settings)."""
    with _lock:
        _backends.clear()
