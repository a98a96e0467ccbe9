"""From a KeyManager row to its connector: credentials unsealed here only, connectors built once."""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from keyvault.backends.managers import ManagerConnector, ManagerMisconfigured
from keyvault.models import KeyManager
from webapp.sealing import seal, unseal

_PURPOSE = "key-manager-credentials"
_connectors: dict[int, tuple[str, ManagerConnector]] = {}
_lock = threading.Lock()


def credentials_seal(name: str, credentials: dict[str, str]) -> bytes:
    return seal(_PURPOSE, json.dumps(credentials, sort_keys=True).encode(), context=name.encode())


def credentials_unseal(manager: KeyManager) -> dict[str, str]:
    if not manager.sealed_credentials:
        return {}
    opened: dict[str, str] = json.loads(
        unseal(_PURPOSE, bytes(manager.sealed_credentials), context=manager.name.encode())
    )
    return opened


def _signature(manager: KeyManager) -> str:
    parts = [manager.name, manager.kind, manager.url, manager.mount, manager.region, manager.governed_policy]
    digest = hashlib.sha256(json.dumps([parts, manager.options], sort_keys=True).encode())
    digest.update(bytes(manager.sealed_credentials))
    return digest.hexdigest()


def connector_build(manager: KeyManager, credentials: dict[str, str] | None = None) -> ManagerConnector:
    """A new connector for ``manager`` (with ``credentials`` not yet stored, for a connection test)."""
    secret = credentials if credentials is not None else credentials_unseal(manager)
    options: dict[str, Any] = dict(manager.options or {})
    kind = KeyManager.Kind(manager.kind)
    if kind in (KeyManager.Kind.OPENBAO, KeyManager.Kind.VAULT):
        from keyvault.backends.transit import TransitConnector

        if not secret.get("token"):
            raise ManagerMisconfigured(f"{manager.name}: a token is required (--token-file)")
        return TransitConnector(
            manager_name=manager.name,
            url=manager.url,
            token=secret["token"],
            mount=manager.mount or "transit",
            governed_policy=manager.governed_policy or "default",
            namespace=str(options.get("namespace", "")),
            ca_file=str(options.get("ca_file", "")),
        )
    if kind is KeyManager.Kind.AWS_KMS:
        from keyvault.backends.aws_kms import KmsConnector

        return KmsConnector(
            manager_name=manager.name,
            region=manager.region,
            endpoint_url=manager.url,
            credentials=secret,
            decrypt_roles=[str(role) for role in options.get("decrypt_roles", [])],
            deletion_window_days=int(options.get("deletion_window_days", 30)),
        )
    from keyvault.backends.kmip_manager import KmipConnector

    return KmipConnector(
        manager_name=manager.name,
        address=manager.url,
        client_cert=secret.get("client_cert", ""),
        client_key=secret.get("client_key", ""),
        ca_pem=str(options.get("ca_pem", "")),
        operation_policy_name=str(options.get("operation_policy_name", "")),
    )


def connector_for(manager: KeyManager) -> ManagerConnector:
    """The process's connector for ``manager``, rebuilt when its configuration or credentials change."""
    signature = _signature(manager)
    with _lock:
        cached = _connectors.get(manager.pk)
        if cached is not None and cached[0] == signature:
            return cached[1]
    connector = connector_build(manager)
    with _lock:
        _connectors[manager.pk] = (signature, connector)
    return connector


def connectors_reset() -> None:
    with _lock:
        _connectors.clear()
