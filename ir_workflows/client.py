"""The one place that connects to Temporal with the deployment's settings."""

from __future__ import annotations

from django.conf import settings
from temporalio.client import Client


async def temporal_client(*, address: str | None = None, namespace: str | None = None) -> Client:
    return await Client.connect(
        address or settings.TEMPORAL_ADDRESS, namespace=namespace or settings.TEMPORAL_NAMESPACE
    )
