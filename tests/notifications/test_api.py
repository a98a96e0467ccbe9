"""Notifications over the API: list with previews, the commander's approval, the registry."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from notifications.services.messages import notifications_draft
from tests.notifications.conftest import SYSTEM
from webapp import roles

pytestmark = pytest.mark.django_db


def test_list_then_approve_as_the_commander(case, commander, make_user):
    notifications_draft(reference=case.incident.reference, actor=SYSTEM)
    base = f"/api/v1/incidents/{case.incident.reference}/notifications"
    lead = APIClient()
    lead.force_authenticate(make_user("lead", roles.SECURITY_LEAD))
    listing = lead.get(base).json()["results"]
    assert [(n["party"], n["audience"], n["status"]) for n in listing] == [
        ("Acme HSM", "upstream", "draft"),
        ("Beta AI Customer", "downstream", "draft"),
        ("Shop Apps", "downstream", "draft"),
    ]
    assert "[[ack-link]]" not in listing[0]["body"]
    refused = lead.post(base + "/approve")
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"

    boss = APIClient()
    boss.force_authenticate(commander)
    assert len(boss.post(base + "/approve").json()["approved"]) == 3
    again = boss.post(base + "/approve")
    assert (again.status_code, again.json()["code"]) == (409, "nothing_to_approve")
    assert {n["status"] for n in boss.get(base).json()["results"]} == {"approved"}


def test_the_registry_and_who_may_read_it(case, commander, outsider):
    client = APIClient()
    client.force_authenticate(outsider)
    assert client.get("/api/v1/parties/").status_code == 403
    client.force_authenticate(commander)
    parties = {p["name"]: p for p in client.get("/api/v1/parties/").json()["results"]}
    assert parties["Acme HSM"]["channels"] == ["email", "webhook"]
    assert parties["Acme HSM"]["keys"] == [str(case.key.id)]
    assert "secret" not in str(parties)
    assert client.get("/api/v1/incidents/INC-0000-0000/notifications").status_code == 404
