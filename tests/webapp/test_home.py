"""The home page per role: each person lands on their work (commander, approver, legal, auditor), a
person with several roles sees each group, and the page's queries do not grow with the rows."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals import policies
from approvals.models import ApprovalRequest
from approvals.policies import policy_current
from casefile.models import CaseFileExport
from evaluation.models import PeriodReport
from incidents.models import Incident, IncidentKey, Severity
from keyvault.models import ManagedKey
from regulatory.models import Assessment, Obligation
from webapp import roles

pytestmark = pytest.mark.django_db

_numbers = count(1)


def _incident(*, commander=None, status="open", severity=Severity.HIGH, attention="", title="") -> Incident:
    n = next(_numbers)
    now = timezone.now()
    incident = Incident.objects.create(
        reference=f"INC-2026-{n:04d}",
        title=title or f"incident {n}",
        commander=commander,
        status=status,
        severity=severity,
        attention=attention,
        step="closed" if status == "closed" else "confirm",
        resolution="compromise" if status == "closed" else "",
        closed_at=now if status == "closed" else None,
        workflow_id=f"wf-{n}",
    )
    for i in range(2):
        key = ManagedKey.objects.create(alias=f"k{n}-{i}", purpose="tests", state="suspended")
        IncidentKey.objects.create(incident=incident, key=key, via="signal")
    return incident


def _obligation(incident: Incident, *, hours: float, rule: str = "gdpr-art33", status: str = "required") -> Obligation:
    assessment = Assessment.objects.create(
        incident=incident, version=1, facts={}, obligations={"obligations": []}, recorded_by="legal"
    )
    return Obligation.objects.create(
        incident=incident,
        rule_id=rule,
        status=status,
        due_at=timezone.now() + timedelta(hours=hours) if status == "required" else None,
        trigger_event="aware",
        regime="GDPR",
        recipient="the supervisory authority",
        citation="Art. 33",
        confidence="high",
        detail={},
        assessment=assessment,
    )


def _request(action: str, incident: Incident, requester, *, hours: float = 2, subject: str = "") -> ApprovalRequest:
    return ApprovalRequest.objects.create(
        policy=policy_current(action),
        action=action,
        subject_type="obligation" if action == policies.REGULATORY_FILING_SIGNOFF else "incident",
        subject_id=subject or incident.reference,
        incident=incident.reference,
        payload={"incident": incident.reference},
        payload_hash="0" * 64,
        reason="tests",
        requested_by=requester,
        expires_at=timezone.now() + timedelta(hours=hours),
    )


def _html(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return str(response.content.decode())


def _section(html: str, section_id: str) -> str:
    """The HTML of one home section (from its heading to the next section's)."""
    start = html.index(f'id="home-{section_id}"')
    end = html.find("<section", start)
    return html[start : end if end != -1 else len(html)]


def test_the_commander_sees_their_incidents_what_needs_attention_the_next_clocks_and_the_queue(
    client, commander, make_user
):
    other = make_user("other-cmdr", roles.COMMANDER)
    mine = _incident(commander=commander, title="payments key in a paste")
    _obligation(mine, hours=5)
    _request(policies.CONFIRM_COMPROMISE, mine, commander, hours=1)
    theirs = _incident(commander=other, title="someone else's")
    hot = _incident(commander=other, severity=Severity.CRITICAL, title="critical one")
    stuck = _incident(commander=commander, attention="restrict failed 5 times: retry", title="stuck one")
    waiting = _incident(title="nobody took it")
    html = _html(client, commander)
    assert "As incident commander" in html
    yours = _section(html, "incidents_mine")
    assert mine.reference in yours
    assert stuck.reference in yours
    assert theirs.reference not in yours
    attention = _section(html, "incidents_attention")
    assert hot.reference in attention
    assert "Critical" in attention
    assert stuck.reference in attention
    assert "Stalled: restrict failed 5 times" in attention
    assert mine.reference not in attention
    clocks = _section(html, "next_clocks")
    assert "gdpr-art33 to the supervisory authority" in clocks
    assert "approval confirm compromise expires" in clocks
    assert clocks.index("approval confirm compromise") < clocks.index("gdpr-art33")  # soonest first
    queue = _section(html, "incidents_queue")
    assert waiting.reference in queue
    assert f"Take {waiting.reference}" in queue
    assert mine.reference not in queue
    assert "Stack:" in html  # the compact stack line stays


def test_an_approver_sees_pending_decisions_with_deadlines(client, commander, security_lead):
    incident = _incident(commander=commander)
    request = _request(policies.CONFIRM_COMPROMISE, incident, commander, hours=3)
    html = _html(client, security_lead)
    decisions = _section(html, "decisions")
    assert reverse("approval-page", args=[request.id]) in decisions
    assert "Confirm compromise" in decisions
    assert incident.reference in decisions
    assert "in 2 h 59 min" in decisions or "in 3 h 00 min" in decisions
    assert "As incident commander" not in html
    assert "As auditor" not in html


def test_legal_sees_obligations_due_and_sign_offs(client, commander, make_user):
    legal = make_user("dpo", roles.LEGAL_DPO)
    incident = _incident(commander=commander)
    soon = _obligation(incident, hours=-1, rule="gdpr-art33")
    _obligation(_incident(commander=commander), hours=0, rule="nis2-early", status="awaiting_trigger")
    asked = _request(
        policies.REGULATORY_FILING_SIGNOFF, incident, commander, subject=f"{incident.reference}/gdpr-art33"
    )
    signed = _request(policies.REGULATORY_FILING_SIGNOFF, incident, commander, subject=f"{incident.reference}/sec-8k")
    ApprovalRequest.objects.filter(pk=signed.pk).update(status="approved", closed_at=timezone.now())
    html = _html(client, legal)
    due = _section(html, "obligations_due")
    assert soon.rule_id in due
    assert "overdue by 1 h" in due or "overdue by 0 h 59 min" in due
    assert "1 more wait for a fact" in due
    signoffs = _section(html, "signoffs")
    assert reverse("approval-page", args=[asked.id]) in signoffs
    assert f"{incident.reference}/sec-8k" in signoffs
    assert "record the filing" in signoffs
    assert "Your pending decisions" in html  # legal decides too


def test_the_auditor_sees_closed_and_open_incidents_case_files_reports_and_the_trust_anchors(
    client, auditor, commander
):
    closed = _incident(commander=commander, status="closed", title="closed last week")
    still_open = _incident(commander=commander, title="still running")
    export = CaseFileExport.objects.create(incident=closed, requested_by=auditor, status="done", pages=11)
    PeriodReport.objects.create(
        since=date(2026, 7, 1), until=date(2026, 9, 30), generated_by="auditor", answers={}, pdf=b"%PDF", sha256="0"
    )
    html = _html(client, auditor)
    assert "As auditor" in html
    incidents = _section(html, "incidents_audit")
    assert closed.reference in incidents
    assert still_open.reference in incidents
    assert "Closed (1)" in incidents
    assert "Open (1)" in incidents
    files = _section(html, "case_files")
    assert reverse("casefile-page", args=[export.pk]) in files
    assert (
        'download="sequester-casefile-certificate.pem" href="/.well-known/sequester-casefile-certificate.pem"' in files
    )
    assert 'download="sequester-audit-key.json" href="/.well-known/sequester-audit-key.json"' in files
    assert "2026-07-01 to 2026-09-30" in _section(html, "period_reports")
    assert "As incident commander" not in html
    assert "Your pending decisions" not in html  # an auditor decides nothing


def test_a_person_with_several_roles_sees_each_group(client, make_user):
    everyone = make_user("many-hats", roles.COMMANDER, roles.LEGAL_DPO, roles.AUDITOR)
    html = _html(client, everyone)
    for title in ("As incident commander", "As approver", "As legal / DPO", "As auditor"):
        assert title in html


def test_someone_without_a_role_sees_no_section(client, outsider):
    html = _html(client, outsider)
    assert "none yet: ask an administrator" in html
    assert 'class="home-group"' not in html


def _estate(n: int, people) -> None:
    commander, requester = people
    for i in range(n):
        kind = i % 4
        incident = _incident(
            commander=None if kind == 0 else commander,
            status="closed" if kind == 3 else "open",
            severity=Severity.CRITICAL if kind == 1 else Severity.HIGH,
            attention="stalled" if kind == 2 else "",
        )
        _obligation(incident, hours=i + 1)
        _request(policies.CONFIRM_COMPROMISE, incident, requester, hours=i + 1)
        _request(
            policies.REGULATORY_FILING_SIGNOFF, incident, requester, hours=i + 1, subject=f"{incident.reference}/x"
        )
        CaseFileExport.objects.create(incident=incident, requested_by=requester, status="done")
        PeriodReport.objects.create(
            since=date(2026, 1, 1), until=date(2026, 3, 31), generated_by="a", answers={}, pdf=b"", sha256=""
        )


def _home_queries(client, user) -> int:
    client.force_login(user)
    client.get(reverse("home"))  # sessions, permission caches: warm
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("home")).status_code == 200
    return len(queries)


def test_the_home_pages_queries_do_not_grow_with_the_rows(client, make_user):
    """Every group shown (commander, approver, legal, auditor): 10 incidents, then 100."""
    everyone = make_user("all-roles", roles.COMMANDER, roles.SECURITY_LEAD, roles.LEGAL_DPO, roles.AUDITOR)
    requester = make_user("requester", roles.COMMANDER)
    _estate(10, (everyone, requester))
    at_ten = _home_queries(client, everyone)
    _estate(90, (everyone, requester))
    at_hundred = _home_queries(client, everyone)
    assert at_hundred == at_ten, f"{at_ten} queries at 10 incidents, {at_hundred} at 100"
    assert at_ten <= 40
