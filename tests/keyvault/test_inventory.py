"""The key inventory auditors sample from: every key with its state, quarantined ones included, no key
material, as CSV and JSON — from the /audit/ page, the API and a command; each export audited."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from audit.actors import Actor
from audit.models import AuditEvent
from keyvault.models import KeyVersion
from keyvault.services import lifecycle

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


@pytest.fixture
def estate():
    active = lifecycle.key_create(actor=SYSTEM, alias="inv-active", purpose="payments")
    gone = lifecycle.key_create(actor=SYSTEM, alias="inv-gone", purpose="weights", ai_category="model_weights")
    lifecycle.key_suspend(key_ids=[gone.id], actor=SYSTEM, reason="leaked")
    lifecycle.key_compromise(key_id=gone.id, actor=SYSTEM, reason="confirmed")
    lifecycle.key_retire(key_id=gone.id, actor=SYSTEM, reason="the model is withdrawn")
    return active, gone


def _no_material(text: str) -> None:
    for material in KeyVersion.objects.values_list("material", flat=True):
        raw = bytes(material)
        assert raw.hex() not in text
        assert raw.hex().upper() not in text


def test_an_auditor_downloads_csv_and_json_with_quarantined_keys(client, auditor, estate):
    _active, gone = estate
    client.force_login(auditor)
    response = client.get(reverse("key-inventory"), {"format": "csv"})
    assert response.status_code == 200
    rows = {r["alias"]: r for r in csv.DictReader(io.StringIO(response.content.decode()))}
    assert rows["inv-active"]["state"] == "active"
    assert rows["inv-gone"]["state"] == "compromised"
    assert rows["inv-gone"]["retired_reason"] == "the model is withdrawn"
    assert rows["inv-gone"]["ai_category"] == "model_weights"
    assert rows["inv-gone"]["fingerprint"] == gone.versions.get().fingerprint
    assert "material" not in response.content.decode().splitlines()[0]
    _no_material(response.content.decode())
    document = client.get(reverse("key-inventory"), {"format": "json"}).json()
    assert document["format"] == "sequester.key-inventory/1"
    assert {k["alias"]: k["state"] for k in document["keys"]} == {"inv-active": "active", "inv-gone": "compromised"}
    assert client.get(reverse("key-inventory"), {"format": "xml"}).status_code == 400
    assert AuditEvent.objects.filter(action="keys.inventory_exported").count() == 2


def test_the_api_and_the_command(auditor, estate, tmp_path, make_user):
    api = APIClient()
    api.force_authenticate(auditor)
    response = api.get("/api/v1/keys/inventory?format=json")
    assert response.status_code == 200
    assert len(json.loads(response.content)["keys"]) == 2
    bad = api.get("/api/v1/keys/inventory?format=xml")
    assert bad.status_code == 400
    assert bad.json()["code"]
    outsider = APIClient()
    outsider.force_authenticate(make_user("inv-outsider"))
    assert outsider.get("/api/v1/keys/inventory").status_code == 403
    out = tmp_path / "keys.csv"
    call_command("key_inventory", "--format", "csv", "-o", str(out), stderr=io.StringIO())
    assert {r["alias"] for r in csv.DictReader(out.open())} == {"inv-active", "inv-gone"}
