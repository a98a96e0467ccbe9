"""An incident to evaluate, and the people behind it."""

from __future__ import annotations

from typing import Any

import pytest

from audit.actors import Actor
from incidents.cloudevents import parse
from incidents.models import Incident
from incidents.services.signals import signal_receive
from keyvault.services import lifecycle

SYSTEM = Actor.system("tests")


def open_incident(commander: Any, *, alias: str = "payments", severity: str = "high") -> Incident:
    key = lifecycle.key_create(actor=SYSTEM, alias=alias, purpose="tests")
    event = parse(
        {
            "specversion": "1.0",
            "id": f"leak-{alias}",
            "source": "https://scanner.example/secrets",
            "type": "com.example.secret.leaked",
            "data": {"keys": [{"id": str(key.id)}], "severity": severity},
        }
    )
    return signal_receive(event=event, via="api", actor=SYSTEM, commander=commander).incident


@pytest.fixture
def incident(people: dict[str, Any]) -> Incident:  # noqa: F811 - the shared fixture
    return open_incident(people["commander"])


from tests.approvals.conftest import authenticators, compromised_key, people  # noqa: E402, F401 - shared fixtures
