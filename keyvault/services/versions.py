"""From stored rows to backend references, and the backend errors mapped onto domain errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db.models import F
from django.utils import timezone

from keyvault.backends import BackendNotConfigured, backend_for
from keyvault.backends.base import AuthenticationFailed, BackendError, BackendRefused, KeyBackend, VersionRef
from keyvault.backends.managers import ManagerDenied, ManagerKeyUnknown, ManagerMisconfigured, ManagerUnreachable
from keyvault.errors import (
    BackendRefusedOperation,
    BackendUnavailable,
    DecryptionFailed,
    KeyManagerDenied,
    KeyManagerInvalid,
    KeyManagerUnknownKey,
    KeyManagerUnreachable,
)
from keyvault.models import KeyVersion, ManagedKey


def version_ref(version: KeyVersion) -> VersionRef:
    return VersionRef(key_id=version.key_id, version=version.version, material=bytes(version.material))


def version_material_set(version: KeyVersion, material: bytes, *, destroyed: bool = False) -> None:
    """Store new material for a version and tell every process that cached the old one."""
    version.material = material
    fields = ["material"]
    if destroyed:
        version.destroyed_at = timezone.now()
        fields.append("destroyed_at")
    version.save(update_fields=fields)
    ManagedKey.objects.filter(id=version.key_id).update(material_generation=F("material_generation") + 1)


def key_backend(key: ManagedKey) -> KeyBackend:
    with backend_errors():
        if key.manager_id is not None:
            from keyvault.services.connectors import connector_for

            return connector_for(key.manager)  # type: ignore[arg-type]
        return backend_for(key.backend)


@contextmanager
def backend_errors() -> Iterator[None]:
    """Backend failures become clear API errors: bad ciphertext (400), refused (409), unavailable (503)."""
    try:
        yield
    except AuthenticationFailed as exc:
        raise DecryptionFailed(
            "the ciphertext failed authentication: altered, wrong associated data, or not from this key"
        ) from exc
    except BackendRefused as exc:
        raise BackendRefusedOperation(str(exc)) from exc
    except ManagerUnreachable as exc:
        raise KeyManagerUnreachable(str(exc)) from exc
    except ManagerDenied as exc:
        raise KeyManagerDenied(str(exc)) from exc
    except ManagerKeyUnknown as exc:
        raise KeyManagerUnknownKey(str(exc)) from exc
    except ManagerMisconfigured as exc:
        raise KeyManagerInvalid(str(exc)) from exc
    except BackendNotConfigured as exc:
        raise BackendUnavailable(str(exc), backend=exc.backend) from exc
    except BackendError as exc:
        raise BackendUnavailable(str(exc)) from exc
