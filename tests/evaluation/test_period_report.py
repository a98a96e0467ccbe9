"""The period report: honest answers (nothing recorded is never green), OSCAL that validates with
compliance-trestle, a PDF that verifies like a case file, CSV one row per incident, the control owner's
attestation, and the auditor's recorded random sample whose case files are exported."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from trestle.oscal.assessment_results import AssessmentResults

from approvals.errors import TotpNotAllowed
from audit.models import AuditEvent
from audit.offline_verifier import read_bundle, verify_bundle
from casefile.models import CaseFileExport
from evaluation.models import AuditSample, PeriodReport
from evaluation.services import period, reports
from tests.approvals.conftest import actor, decide, setup_totp
from tests.casefile.scenario import run_case
from tests.evaluation.conftest import SYSTEM, open_incident
from webapp import roles

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
SINCE, UNTIL = TODAY - timedelta(days=30), TODAY


def _report(fmt: str, out) -> None:
    call_command(
        "period_report",
        "--since",
        str(SINCE),
        "--until",
        str(UNTIL),
        "--format",
        fmt,
        "-o",
        str(out),
        stdout=io.StringIO(),
    )


def _ids(data: period.PeriodData) -> dict[str, str]:
    return {a.id: a.status for a in data.answers}


def test_an_empty_period_is_never_green():
    data = period.period_data(SINCE, UNTIL)
    answers = _ids(data)
    assert answers["CAIQ-defined"] == period.NO  # no playbook published
    assert answers["CAIQ-evaluated"] == period.NO
    assert answers["CAIQ"] != period.YES
    checks = {key: status for key, status in answers.items() if key.startswith(("AG-", "CCM-"))}
    assert period.EVIDENCED not in checks.values(), checks
    assert len([k for k in answers if k.startswith("AG-")]) == 11
    assert len([k for k in answers if k.startswith("CCM-")]) == 3


def test_the_oscal_document_validates_with_compliance_trestle(people, authenticators, tmp_path):
    run_case(people, authenticators)
    out = tmp_path / "ar.json"
    _report("oscal", out)
    document = json.loads(out.read_text())
    assert set(document) == {"assessment-results"}
    parsed = AssessmentResults.oscal_read(out)  # trestle's reader: the OSCAL schema as pydantic models
    assert isinstance(parsed, AssessmentResults)
    findings = parsed.results[0].findings or []
    assert len(findings) == 5 + 11 + 3  # the CAIQ question, its four parts, 11 guidelines, 3 CCM checks
    states = {f.title.split(":")[0]: f.target.status.state.value for f in findings if f.target.status}
    assert states["CAIQ-defined"] == "not-satisfied"  # no playbook was published in this period
    assert AuditEvent.objects.filter(action="report.generated", data__format="oscal").exists()


def test_the_pdf_verifies_like_a_case_file_and_the_csv_has_one_row_per_incident(people, authenticators, tmp_path):
    first = run_case(people, authenticators)
    second = open_incident(people[roles.COMMANDER], alias="second")
    pdf = tmp_path / "report.pdf"
    _report("pdf", pdf)
    verified = io.StringIO()
    call_command("casefile_verify", str(pdf), stdout=verified)
    assert "VERIFIED" in verified.getvalue()
    assert verify_bundle(read_bundle(pdf)).ok  # what offline_verifier.py checks, with no database
    report = PeriodReport.objects.get()
    assert report.sha256
    assert bytes(report.pdf) == pdf.read_bytes()

    out = tmp_path / "incidents.csv"
    _report("csv", out)
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert [r["reference"] for r in rows] == [first.reference, second.reference]
    assert rows[0]["status"] == "closed"
    assert rows[0]["contain_status"] == "met"
    assert "review" in rows[0]["waivers"]


def test_the_control_owner_attests_a_report(people, authenticators):
    report = reports.period_report_generate(since=SINCE, until=UNTIL, actor=SYSTEM)
    requester = people[roles.SECURITY_LEAD]
    request = reports.period_report_attest_request(report=report, user=requester, actor=actor(requester))
    assert request.payload["details"]["sha256"] == report.sha256
    totp = setup_totp(people[roles.CISO])
    with pytest.raises(TotpNotAllowed):
        decide(people[roles.CISO], request, totp=totp.now())
    decide(people[roles.CISO], request, authenticator=authenticators[roles.CISO])
    decide(people[roles.LEGAL_DPO], request, authenticator=authenticators[roles.LEGAL_DPO])
    report.refresh_from_db()
    assert report.attested_at is not None
    assert AuditEvent.objects.filter(action="control.attested", data__report=str(report.id)).exists()


def test_the_auditor_draws_a_recorded_sample_and_its_case_files_are_exported(people):
    refs = [open_incident(people[roles.COMMANDER], alias=f"k{i}").reference for i in range(6)]
    auditor = people[roles.AUDITOR]
    sample = reports.audit_sample_draw(since=SINCE, until=UNTIL, size=3, user=auditor, actor=actor(auditor))
    assert sample.population == refs
    assert sample.chosen == sorted(random.Random(sample.seed).sample(refs, 3))  # anyone can redraw it
    assert set(sample.exports) == set(sample.chosen)
    assert CaseFileExport.objects.filter(incident__reference__in=sample.chosen).count() == 3
    event = AuditEvent.objects.get(action="audit.sample_drawn")
    assert event.data["seed"] == sample.seed
    assert event.data["chosen"] == sample.chosen


def test_the_reports_page(people):
    open_incident(people[roles.COMMANDER])
    client = Client()
    client.force_login(people[roles.AUDITOR])
    assert "Period reports" in client.get("/reports/").content.decode()
    response = client.post("/reports/export", {"since": str(SINCE), "until": str(UNTIL), "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    client.post("/reports/samples", {"since": str(SINCE), "until": str(UNTIL), "size": "1"})
    assert AuditSample.objects.count() == 1
    outsider = Client()
    outsider.force_login(people[roles.KEY_CUSTODIAN])
    assert outsider.get("/reports/").status_code == 403
