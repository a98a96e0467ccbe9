"""The playbook as a controlled document: rendered from what runs (the workflow's steps, the policies,
the rules, the audiences, the targets), proposed, published by a two-person WebAuthn approval, audited
in the chain, due for review, named (with the procedure) in every case file."""

from __future__ import annotations

import ast
import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from approvals import policies
from approvals.errors import SeparationOfDuties, TotpNotAllowed
from approvals.policies import DEFAULT_POLICIES
from audit.models import AuditEvent
from casefile.gather import case_data
from casefile.signing import signature_check
from evaluation.errors import PlaybookInvalid
from evaluation.models import PlaybookVersion
from evaluation.services import playbook
from ir_workflows.incident import procedure
from tests.approvals.conftest import actor, change_policy, decide, setup_totp
from webapp import roles
from webapp.roles import ROLES_BY_SLUG

pytestmark = pytest.mark.django_db

WORKFLOW = Path(__file__).resolve().parents[2] / "ir_workflows" / "incident" / "workflows.py"


def _steps_the_workflow_sets() -> list[str]:
    """Every step the workflow records, read from its source: ``_set_step(procedure.X)`` and ``step=procedure.X``."""
    found = []
    for node in ast.walk(ast.parse(WORKFLOW.read_text())):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "procedure":
            found.append(getattr(procedure, node.attr))
    return found


def test_the_procedure_is_the_steps_the_workflow_runs():
    used = set(_steps_the_workflow_sets())
    assert used - {procedure.CLOSED} == set(procedure.STEP_IDS)
    for step in procedure.STEPS:
        assert set(step.roles) <= set(ROLES_BY_SLUG)
        assert set(step.approvals) <= set(DEFAULT_POLICIES)
    content = playbook.procedure_content()
    assert [s["id"] for s in content["steps"]] == list(procedure.STEP_IDS)
    assert len(content["regulatory_rules"]) > 40
    assert {"upstream", "downstream", "regulator", "internal"} == {a["audience"] for a in content["audiences"]}
    assert {k["name"] for k in content["closure_checks"]} >= {"review", "acknowledgements", "obligations"}


def _propose(people) -> PlaybookVersion:
    owner = people[roles.CISO]
    return playbook.playbook_propose(
        owner=owner, change_summary="first controlled version", user=people[roles.COMMANDER], actor=actor(owner)
    )


def test_a_version_is_published_by_two_people_with_webauthn(people, authenticators):
    version = _propose(people)
    assert version.approval is not None
    assert version.approval.action == policies.PLAYBOOK_PUBLISH
    assert version.approval.payload["details"]["content_hash"] == version.content_hash
    assert playbook.playbook_in_force() is None
    with pytest.raises(PlaybookInvalid, match="already waits"):
        _propose(people)
    totp = setup_totp(people[roles.SECURITY_LEAD])
    with pytest.raises(TotpNotAllowed):
        decide(people[roles.SECURITY_LEAD], version.approval, totp=totp.now())
    decide(people[roles.SECURITY_LEAD], version.approval, authenticator=authenticators[roles.SECURITY_LEAD])
    assert playbook.playbook_in_force() is None  # one person is not enough
    decide(people[roles.CISO], version.approval, authenticator=authenticators[roles.CISO])
    version.refresh_from_db()
    assert playbook.playbook_in_force() == version
    assert version.review_due_on == playbook.add_months(timezone.localdate(), 12)
    event = AuditEvent.objects.get(action="playbook.published")
    assert event.data["content_hash"] == version.content_hash
    status = playbook.playbook_status()
    assert (status.drifted, status.overdue, status.notice) == (False, False, "")

    # A policy edit changes what runs: the version in force no longer matches it.
    change_policy(policies.CLOSE_INCIDENT, {"expires_after_seconds": 3600}, people, authenticators)
    assert playbook.playbook_status().drifted


def test_the_requester_of_a_version_cannot_approve_it(people, authenticators):
    owner = people[roles.CISO]
    version = playbook.playbook_propose(owner=owner, change_summary="x", user=owner, actor=actor(owner))
    assert version.approval is not None
    with pytest.raises(SeparationOfDuties):
        decide(owner, version.approval, authenticator=authenticators[roles.CISO])


def _publish(people, authenticators) -> PlaybookVersion:
    version = _propose(people)
    assert version.approval is not None
    for slug in (roles.SECURITY_LEAD, roles.CISO):
        decide(people[slug], version.approval, authenticator=authenticators[slug])
    return version


def test_an_overdue_review_shows_on_the_home_page_and_in_the_status(people, authenticators):
    version = _publish(people, authenticators)
    assert playbook.playbook_status(today=date.today() + timedelta(days=400)).overdue
    PlaybookVersion.objects.filter(pk=version.pk).update(review_due_on=date.today() - timedelta(days=1))
    client = Client()
    client.force_login(people[roles.AUDITOR])
    page = client.get("/").content.decode()
    assert "review is overdue" in page
    assert "overdue" in client.get("/playbook/").content.decode()


def test_every_case_file_names_the_version_in_force_and_carries_the_procedure(people, authenticators):
    from tests.evaluation.conftest import open_incident

    before = open_incident(people[roles.COMMANDER], alias="before")
    section = case_data(before, generated_by="t", now=timezone.now()).sections["playbook"]
    assert section is not None
    assert "No playbook version had been published" in section.note
    version = _publish(people, authenticators)
    after = open_incident(people[roles.COMMANDER], alias="after")
    data = case_data(after, generated_by="t", now=timezone.now())
    section, appendix = data.sections["playbook"], data.sections["appendix:procedure"]
    assert section is not None
    assert appendix is not None
    assert section.rows[0][0] == f"v{version.number}"
    assert appendix.title.endswith(f"v{version.number}")
    assert "### 2. Confirm" in appendix.text


def test_the_command_renders_markdown_and_a_signed_pdf(tmp_path):
    out = io.StringIO()
    call_command("playbook_document", "--format", "md", stdout=out)
    assert "## Legal and regulatory provisions" in out.getvalue()
    assert "EU-GDPR-33" in out.getvalue()
    pdf = tmp_path / "playbook.pdf"
    call_command("playbook_document", "--format", "pdf", "--output", str(pdf), stdout=io.StringIO())
    data = pdf.read_bytes()
    reader = PdfReader(io.BytesIO(data))
    xmp = reader.root_object["/Metadata"].get_object().get_data().decode()  # type: ignore[union-attr]
    assert "pdfaid:part" in xmp
    assert "procedure.json" in reader.attachments
    assert signature_check(data).ok


def test_the_playbook_page(people):
    client = Client()
    client.force_login(people[roles.CISO])
    page = client.get("/playbook/").content.decode()
    assert "No playbook version is published" in page
    assert "Propose a version" in page
    client.post("/playbook/propose", {"change_summary": "first", "owner": people[roles.CISO].pk})
    assert PlaybookVersion.objects.count() == 1
    outsider = Client()
    outsider.force_login(people["key_custodian"])
    assert outsider.post("/playbook/propose", {"change_summary": "x"}).status_code == 403
