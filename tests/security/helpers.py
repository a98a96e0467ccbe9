"""Small API steps shared by the security tests."""

from __future__ import annotations

import base64
from typing import Any

from rest_framework.test import APIClient


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def post(client: APIClient, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, body, format="json")


def create_key(client: APIClient, alias: str, **extra: Any) -> dict[str, Any]:
    response = post(client, "/api/v1/keys/", {"alias": alias, "purpose": "card data", **extra})
    assert response.status_code == 201, response.json()
    return dict(response.json())


def encrypt(client: APIClient, key_id: str, plaintext: bytes = b"4111 1111 1111 1111") -> Any:
    return post(client, f"/api/v1/keys/{key_id}/encrypt", {"plaintext_b64": b64(plaintext)})


def state_of(key_id: str) -> str:
    from keyvault.models import ManagedKey

    return str(ManagedKey.objects.values_list("state", flat=True).get(id=key_id))
