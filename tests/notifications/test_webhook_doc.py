"""The receiver's verifier in docs/party-webhooks.md accepts what Sequester sends and nothing else, and the
machine acknowledgement it documents works."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from notifications.services.delivery import notification_send
from notifications.services.messages import notifications_approve, notifications_draft
from tests.notifications.conftest import SYSTEM

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "party-webhooks.md"


def _documented_verify() -> Any:
    (block,) = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    namespace: dict[str, Any] = {}
    exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation's snippet
    return namespace["verify"]


def test_the_documented_verifier_and_machine_ack(case, commander, smtp, webhook_receiver):
    verify = _documented_verify()
    notifications_draft(reference=case.incident.reference, actor=SYSTEM)
    (vendor,) = [
        n
        for n in notifications_approve(reference=case.incident.reference, user=commander, actor=SYSTEM)
        if n.party == case.vendor
    ]
    notification_send(notification_id=vendor.pk, purpose="initial")
    (request,) = webhook_receiver.received
    payload = verify(case.secrets["Acme HSM"], request.headers, request.body)
    assert payload["data"]["notification"] == vendor.idempotency_key
    with pytest.raises(ValueError, match="bad signature"):
        verify(case.secrets["Acme HSM"], request.headers, request.body.replace(b"suspended", b"active"))
    with pytest.raises(ValueError, match="bad signature"):
        verify(case.secrets["Beta AI Customer"], request.headers, request.body)

    url, _, token = payload["data"]["ack_url"].partition("#")
    path = url.removeprefix("http://localhost:8000")
    assert Client().post(path, {"token": token, "name": "SOC on call"}).status_code == 200
    assert Client().post(path, {"token": token, "name": "SOC on call"}).status_code == 404
