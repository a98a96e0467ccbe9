"""The auditor's views: closed incidents by default (filterable), the trust anchors downloadable from the
UI, and one search page across incidents, keys and parties that shows each person only what they may see."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from incidents.models import Incident, IncidentKey, Signal
from keyvault.models import KeyVersion, ManagedKey, System
from notifications.models import Notification, Party, PartyRole
from webapp import roles

pytestmark = pytest.mark.django_db


def _incident(reference: str, title: str, *, status: str = "open") -> Incident:
    return Incident.objects.create(reference=reference, title=title, status=status, workflow_id=reference)


@pytest.fixture
def estate():
    closed = _incident("INC-2026-0101", "archive key leaked", status="closed")
    still_open = _incident("INC-2026-0102", "payments key leaked")
    quarantined = ManagedKey.objects.create(alias="payments-kek", purpose="wraps payments keys", state="suspended")
    active = ManagedKey.objects.create(alias="payments-logs", purpose="log archive", state="active")
    KeyVersion.objects.create(key=active, version=1, material=b"x", fingerprint="ab12cd34" + "0" * 56)
    active.systems.add(System.objects.create(name="ledger-service"))
    IncidentKey.objects.create(incident=still_open, key=quarantined, via="signal")
    Signal.objects.create(
        source="https://scanner.example/x",
        event_id="alert-4711",
        type="t",
        received_via="api",
        key_references=[],
        incident=still_open,
        reported_by="scanner",
    )
    party = Party.objects.create(name="Acme Payments GmbH", role=PartyRole.APPLICATION_PROVIDER)
    Notification.objects.create(
        incident=still_open, party=party, idempotency_key="n1", audience="downstream", subject="s", body="b"
    )
    Party.objects.create(name="Acme HSM vendor", role=PartyRole.HSM_VENDOR)
    return {"closed": closed, "open": still_open, "quarantined": quarantined, "active": active}


def test_auditors_land_on_closed_incidents_and_can_filter(client, auditor, commander, estate):
    client.force_login(auditor)
    default = client.get(reverse("incidents-list")).content.decode()
    assert "INC-2026-0101" in default
    assert "INC-2026-0102" not in default
    assert '<option value="closed" selected>' in default
    opened = client.get(reverse("incidents-list") + "?scope=open").content.decode()
    assert "INC-2026-0102" in opened
    assert "INC-2026-0101" not in opened
    every = client.get(reverse("incidents-list") + "?scope=all").content.decode()
    assert "INC-2026-0101" in every
    assert "INC-2026-0102" in every
    # Responders still land on open incidents.
    client.force_login(commander)
    responder_default = client.get(reverse("incidents-list")).content.decode()
    assert "INC-2026-0102" in responder_default
    assert "INC-2026-0101" not in responder_default


def test_the_trust_anchors_download_from_the_audit_page(client, auditor):
    client.force_login(auditor)
    page = client.get(reverse("audit-page")).content.decode()
    assert 'download="sequester-casefile-certificate.pem"' in page
    assert 'download="sequester-audit-key.json"' in page
    certificate = client.get(reverse("casefile-certificate"))
    assert certificate["Content-Type"].startswith("application/x-pem-file")
    assert b"-----BEGIN CERTIFICATE-----" in certificate.content
    assert "public_key" in json.loads(client.get(reverse("audit-key")).content)


def _search(client, user, query: str) -> str:
    client.force_login(user)
    response = client.get(reverse("search"), {"q": query})
    assert response.status_code == 200
    return str(response.content.decode())


def test_search_finds_incidents_keys_and_parties(client, commander, estate):
    html = _search(client, commander, "payments")
    assert "INC-2026-0102: payments key leaked" in html
    assert reverse("key-page", args=[estate["active"].id]) in html
    assert "Acme Payments GmbH" in html
    assert reverse("incident-notifications", args=["INC-2026-0102"]) in html
    # By a detector's event id, a fingerprint prefix, a system, a key's alias (its incidents).
    assert "INC-2026-0102" in _search(client, commander, "alert-4711")
    assert reverse("key-page", args=[estate["active"].id]) in _search(client, commander, "AB12CD34")
    assert reverse("key-page", args=[estate["active"].id]) in _search(client, commander, "ledger")
    assert "INC-2026-0102" in _search(client, commander, "payments-kek")


def test_search_shows_each_person_only_what_they_may_see(client, auditor, outsider, make_user, estate):
    # A responder sees the quarantined key; an auditor does not (segregation), but sees incidents and parties.
    responder = make_user("responder", roles.SECURITY_LEAD)
    quarantined = reverse("key-page", args=[estate["quarantined"].id])
    assert quarantined in _search(client, responder, "payments")
    for_auditor = _search(client, auditor, "payments")
    assert quarantined not in for_auditor
    assert reverse("key-page", args=[estate["active"].id]) in for_auditor
    assert "INC-2026-0102" in for_auditor
    assert "Acme Payments GmbH" in for_auditor
    # Someone without a role sees nothing at all.
    nothing = _search(client, outsider, "payments")
    assert "Your roles let you search nothing here." in nothing
    assert "INC-2026-0102" not in nothing
    assert "payments-logs" not in nothing
    assert "Acme" not in nothing


def test_a_search_too_short_or_too_long_is_bounded(client, commander, estate):
    assert "Type at least 2 characters." in _search(client, commander, "p")
    assert _search(client, commander, "x" * 5000).count("x" * 201) == 0
