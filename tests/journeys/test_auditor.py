"""The auditor's day: closed incidents, one opened, its signed case file exported and downloaded, the
file's digest the one the page shows — axe-core clean on every page."""

from __future__ import annotations

import hashlib

import pytest

from casefile.models import CaseFileExport
from tests.browser import sign_in
from tests.casefile.scenario import run_case
from tests.conftest import PASSWORD
from tests.servers import celery_worker_process
from webapp import roles

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery_worker():
    """A real Celery worker process renders the export (the page follows its progress)."""
    with celery_worker_process() as node:
        yield node


def test_auditor_finds_a_closed_incident_and_downloads_its_case_file(journey, people, authenticators, celery_worker):
    incident = run_case(people, authenticators)
    assert incident.status == "closed"
    auditor = people[roles.AUDITOR]
    page = journey.page

    sign_in(page, journey.base, auditor.username, PASSWORD)
    journey.axe()  # home: the incidents, closed ones included
    assert incident.reference in journey.home_section("incidents_audit").inner_text()
    journey.go("/incidents/?scope=all")
    listed = page.locator("main table tbody")
    listed.get_by_role("link", name=incident.reference).wait_for()
    row = listed.locator("tr", has=page.get_by_role("link", name=incident.reference)).inner_text()
    assert "Closed" in row

    listed.get_by_role("link", name=incident.reference).click()
    journey.see("Case file")
    assert "Closed" in page.locator("dl.facts").first.inner_text()
    assert page.get_by_role("button", name="Request closure").count() == 0  # read-only

    page.get_by_role("button", name="Export the case file").click()
    download_link = page.get_by_role("link", name="Download the signed PDF")
    page.get_by_text("Rendering", exact=False).or_(download_link).first.wait_for()  # the progress, live
    download_link.wait_for(timeout=180_000)  # WeasyPrint and the signature, on a busy 2-core machine
    journey.axe()
    shown_digest = page.locator("dt:text-is('SHA-256') + dd code").inner_text()
    with page.expect_download() as downloading:
        download_link.click()
    pdf = downloading.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")
    assert hashlib.sha256(pdf).hexdigest() == shown_digest

    journey.go("/")
    journey.home_section("case_files").get_by_text(incident.reference).first.wait_for()
    journey.go("/case-files/")
    page.get_by_role("link", name=incident.reference).first.wait_for()
    journey.go("/audit/")
    export = CaseFileExport.objects.get(incident=incident)
    assert (export.status, export.requested_by) == ("done", auditor)
