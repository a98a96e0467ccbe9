"""Asking for a case file, watching it, downloading it: pages and API, who may, and the audit trail."""

from __future__ import annotations

import time
import uuid

import pytest
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEvent
from casefile.models import CaseFileDocument, CaseFileExport
from casefile.services import casefile_render
from tests.servers import celery_worker_process

pytestmark = pytest.mark.django_db


def _signed_in(client, user):
    # (client.login() calls authenticate() without a request, which the sign-in lockout refuses.)
    client.force_login(user)
    return client


def test_an_auditor_asks_watches_and_downloads_from_the_pages(client, closed_case, people):
    _signed_in(client, people["auditor"])
    page = client.get(reverse("incident-page", args=[closed_case.reference]))
    assert b"Export the case file" in page.content
    response = client.post(reverse("casefile-new", args=[closed_case.reference]))
    export = CaseFileExport.objects.get()
    assert response["Location"] == reverse("casefile-page", args=[export.pk])
    assert b"Rendering: 0" in client.get(reverse("casefile-live", args=[export.pk])).content
    assert client.get(reverse("casefile-pdf", args=[export.pk])).status_code == 409  # not yet
    casefile_render(export.pk)  # what the Celery task runs
    export.refresh_from_db()
    assert (export.status, export.progress, export.stage) == ("done", 100, "ready")
    live = client.get(reverse("casefile-live", args=[export.pk])).content.decode()
    assert export.sha256 in live
    assert "Download the signed PDF" in live
    download = client.get(reverse("casefile-pdf", args=[export.pk]))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download.content.startswith(b"%PDF-1.7")
    assert download["X-Content-SHA256"] == export.sha256
    assert closed_case.reference in download["Content-Disposition"]
    assert client.get(reverse("casefile-list")).status_code == 200
    actions = list(
        AuditEvent.objects.filter(action__startswith="casefile.").order_by("seq").values_list("action", "actor")
    )
    assert actions == [
        ("casefile.requested", "p-auditor"),
        ("casefile.exported", "p-auditor"),
        ("casefile.downloaded", "p-auditor"),
    ]


def test_people_without_the_capability_are_refused(client, closed_case, people, make_user):
    _signed_in(client, people["key_custodian"])  # responds to incidents, does not export case files
    assert client.post(reverse("casefile-new", args=[closed_case.reference])).status_code == 403
    assert client.get(reverse("casefile-list")).status_code == 403
    assert client.get(reverse("audit-page")).status_code == 403
    assert b"Export the case file" not in client.get(reverse("incident-page", args=[closed_case.reference])).content
    assert not CaseFileExport.objects.exists()


def test_the_api_flow_with_stable_error_codes(closed_case, people):
    api = APIClient()
    api.force_authenticate(people["auditor"])
    created = api.post(f"/api/v1/incidents/{closed_case.reference}/case-files")
    assert created.status_code == 202
    body = created.json()
    assert (body["status"], body["incident"], body["pdf"]) == ("queued", closed_case.reference, None)
    status_url = body["status_url"]
    early = api.get(f"/api/v1/case-files/{body['id']}/pdf")
    assert (early.status_code, early.json()["code"]) == (409, "case_file_not_ready")
    casefile_render(body["id"])
    done = api.get(status_url).json()
    assert done["status"] == "done"
    assert done["pages"] >= 5
    pdf = api.get(done["pdf"])
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    listed = api.get("/api/v1/case-files/", {"incident": closed_case.reference}).json()["results"]
    assert [e["id"] for e in listed] == [body["id"]]
    missing = api.get(f"/api/v1/case-files/{uuid.uuid4()}/")
    assert (missing.status_code, missing.json()["code"]) == (404, "case_file_not_found")
    assert api.get("/api/v1/case-files/not-a-uuid/").json()["code"] == "case_file_not_found"
    unknown = api.post("/api/v1/incidents/INC-1999-0001/case-files")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "incident_not_found")
    outsider = APIClient()
    outsider.force_authenticate(people["key_custodian"])
    assert outsider.get(status_url).status_code == 403


def test_a_failed_render_says_why_and_keeps_nothing(closed_case, people):
    api = APIClient()
    api.force_authenticate(people["auditor"])
    export_id = api.post(f"/api/v1/incidents/{closed_case.reference}/case-files").json()["id"]
    from casefile import signing

    signing._signer.cache_clear()
    with override_settings(SEQUESTER_CASEFILE_KEY_FILE=None):
        casefile_render(export_id)
    export = CaseFileExport.objects.get(pk=export_id)
    assert export.status == "failed"
    assert "SEQUESTER_CASEFILE_KEY_FILE" in export.error
    assert not CaseFileDocument.objects.exists()
    assert not AuditEvent.objects.filter(action="casefile.exported").exists()


def test_the_audit_key_is_published_and_the_verifier_downloadable(client, people):
    key = client.get(reverse("audit-key")).json()  # public, like a JWKS
    assert key["algorithm"] == "Ed25519"
    _signed_in(client, people["auditor"])
    page = client.get(reverse("audit-page")).content.decode()
    assert key["public_key"] in page
    verifier = client.get(reverse("audit-verifier"))
    assert b"def verify_bundle" in b"".join(verifier.streaming_content)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_celery_worker_renders_it(closed_case, people):
    api = APIClient()
    api.force_authenticate(people["auditor"])
    with celery_worker_process():
        export_id = api.post(f"/api/v1/incidents/{closed_case.reference}/case-files").json()["id"]
        deadline = time.monotonic() + 120
        while (status := api.get(f"/api/v1/case-files/{export_id}/").json())["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, status
            time.sleep(0.05)
    assert status["status"] == "done", status["error"]
    assert status["sha256"]
    assert api.get(status["pdf"]).content.startswith(b"%PDF")
