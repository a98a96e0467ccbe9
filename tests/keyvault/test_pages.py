"""Key pages: inventory for readers, quarantine for responders only, detail with history."""

from __future__ import annotations

import pytest

from keyvault.services import lifecycle
from keyvault.services.demo import demo_keys_seed
from keyvault.states import KeyState
from tests.keyvault.conftest import SYSTEM, make_key
from webapp import roles

pytestmark = pytest.mark.django_db


def test_inventory_hides_quarantined_keys(client, make_user):
    make_key("local", KeyState.ACTIVE, alias="inventory-key")
    suspended, _ = make_key("local", KeyState.SUSPENDED, alias="quarantined-key")
    client.force_login(make_user("aud", roles.AUDITOR))
    html = client.get("/keys/").content.decode()
    assert "inventory-key" in html
    assert "quarantined-key" not in html
    assert client.get(f"/keys/{suspended.id}/").status_code == 404
    assert client.get("/keys/quarantine/").status_code == 403


def test_quarantine_and_history_for_responders(client, make_user):
    key, _ = make_key("local", KeyState.COMPROMISED, alias="leaked")
    client.force_login(make_user("cmdr", roles.COMMANDER))
    html = client.get("/keys/quarantine/").content.decode()
    assert "leaked" in html
    assert "state-compromised" in html
    detail = client.get(f"/keys/{key.id}/").content.decode()
    assert "key.compromised" in detail
    assert "key.restricted" in detail


def test_navigation_follows_roles(client, make_user):
    client.force_login(make_user("legal", roles.LEGAL_DPO))
    html = client.get("/").content.decode()
    assert 'href="/keys/"' not in html
    assert client.get("/keys/").status_code == 403
    client.force_login(make_user("lead", roles.SECURITY_LEAD))
    html = client.get("/").content.decode()
    assert 'href="/keys/"' in html
    assert 'href="/keys/quarantine/"' in html


def test_demo_estate_is_seeded_once():
    keys = demo_keys_seed()
    assert {k.alias for k in keys} >= {"platform-kek", "payments", "prompt-store"}
    assert demo_keys_seed() == []
    radius = lifecycle.key_suspend(key_ids=[keys[0].id], actor=SYSTEM, reason="demo").blast_radius
    assert radius is not None
    assert len(radius.keys) == 4  # the KEK and the three keys it wraps
    assert "ml-platform" in radius.systems
