"""The base UI: who is signed in, navigation per role, the stack's health, no CDN anywhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from tests.servers import ROOT

pytestmark = pytest.mark.django_db


def test_home_shows_user_roles_and_health(client, commander, monkeypatch):
    from webapp import health

    for name in health.CHECKS:
        monkeypatch.setitem(health.CHECKS, name, lambda timeout: "answers")
    monkeypatch.setattr(health, "_snapshots", health._Snapshots())
    health.health_refresh()  # the background refresher's round (pages only read its snapshot)
    client.force_login(commander)
    response = client.get(reverse("home"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Signed in as <strong>cmdr</strong>" in html
    assert "Incident commander" in html
    for part in ("database", "redis", "temporal", "celery"):
        assert f'<th scope="row">{part}</th>' in html
    assert 'href="#main"' in html  # skip link
    assert 'aria-label="Main"' in html


def test_admin_link_only_for_staff(client, commander, make_user):
    client.force_login(commander)
    assert "/admin/" not in client.get(reverse("home")).content.decode()
    staff = make_user("staffer")
    staff.is_staff = True
    staff.save()
    client.force_login(staff)
    assert "/admin/" in client.get(reverse("home")).content.decode()


def test_login_page_renders(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert 'autocomplete="current-password"' in response.content.decode()


def test_api_schema_and_docs(client, commander, api_client):
    assert api_client.get("/api/schema/").status_code == 401
    client.force_login(commander)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert b"/api/v1/me/" in schema.content
    assert b"bearerToken" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert not re.search(r"(src|href)=\"https?://", docs.content.decode())


def test_api_docs_redirects_anonymous_browsers_to_sign_in(client):
    response = client.get("/api/docs/")
    assert response.status_code == 302


CDN = re.compile(r"(src|href)\s*=\s*[\"']?(https?:)?//", re.IGNORECASE)


def test_no_page_or_asset_loads_from_another_host():
    offenders = []
    for folder in (ROOT / "templates", ROOT / "webapp" / "static"):
        for path in Path(folder).rglob("*"):
            if path.is_file() and path.suffix in {".html", ".css", ".js"} and CDN.search(path.read_text()):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_openapi_schema_generates_without_warnings(tmp_path):
    from django.core.management import call_command

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(out), "--validate", "--fail-on-warn")
    assert "/api/v1/keys/{key_id}/encrypt" in out.read_text()
