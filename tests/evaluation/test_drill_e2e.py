"""A drill end to end on the time-skipping server with the production worker and the real database: the
scheduled drill's workflow makes canary keys and reports them; the exercise's own playbook runs (people
approve), notifies only exercise recipients, computes clocks it never files, and closes with waivers.
The exercise is marked on its pages, mails, audit events and case file, and scored against the targets."""

from __future__ import annotations

import asyncio
import io
import threading
import uuid
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from django.core import mail
from django.test import Client, override_settings
from django.utils import timezone
from pypdf import PdfReader
from temporalio.testing import WorkflowEnvironment

from approvals.models import ApprovalRequest
from audit.actors import Actor
from audit.models import AuditEvent
from casefile.services import casefile_build
from evaluation.models import Drill
from evaluation.services.drills import drill_scorecard
from incidents.models import Incident
from incidents.services.closure import closure_open_items
from incidents.services.incidents import incident_advance, incident_record_awareness
from ir_workflows.client import temporal_client
from ir_workflows.drills.types import DRILL_WORKFLOW, DrillInput, DrillResult
from keyvault.models import ManagedKey
from notifications.models import Notification, Party
from regulatory.errors import FilingInvalid
from regulatory.models import Obligation
from regulatory.services.assessments import assessment_prefill, assessment_record
from regulatory.services.filings import filing_signoff_request
from tests.approvals.conftest import actor, decide
from tests.servers import temporal_test_server_binary
from tests.temporal_helpers import RunningWorker, pump_until
from webapp import roles

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
T = TypeVar("T")


class TimeSkipping:
    """A time-skipping test server of this test's own, driven from a background event loop."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        self.env: WorkflowEnvironment = self.run(
            WorkflowEnvironment.start_time_skipping(test_server_existing_path=temporal_test_server_binary())
        )
        self.address = self.env.client.service_client.config.target_host

    def run(self, work: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout)

    def close(self) -> None:
        self.run(self.env.shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)


@pytest.fixture
def stack() -> Iterator[tuple[TimeSkipping, str]]:
    server = TimeSkipping()
    task_queue = f"drill-{uuid.uuid4().hex[:8]}"
    try:
        with (
            override_settings(TEMPORAL_ADDRESS=server.address, TEMPORAL_TASK_QUEUE=task_queue),
            RunningWorker(server.address, task_queue),
        ):
            yield server, task_queue
    finally:
        server.close()


def _pending(reference: str, action: str) -> ApprovalRequest | None:
    return ApprovalRequest.objects.filter(incident=reference, action=action, status="pending").first()


def _approve(reference: str, action: str, people, authenticators, *slugs: str) -> None:
    pump_until(lambda: _pending(reference, action) is not None, timeout=90, what=f"the {action} request")
    request = _pending(reference, action)
    assert request is not None
    for slug in slugs:
        decide(people[slug], request, authenticator=authenticators[slug])


def test_a_drill_runs_end_to_end_and_is_marked_exercise_everywhere(stack, people, authenticators):
    server, task_queue = stack
    desk = Party.objects.create(name="Drill desk", role="internal_team", kind="team", exercise_recipient=True)
    Party.objects.create(name="Real HSM vendor", role="hsm_vendor", every_incident=True)  # never told of a drill
    production = ManagedKey.objects.count()

    async def scheduled_run() -> DrillResult:
        client = await temporal_client(address=server.address)
        result: DrillResult = await client.execute_workflow(
            DRILL_WORKFLOW,
            DrillInput(severity="critical"),
            id=f"sequester-drill-{uuid.uuid4().hex[:6]}",
            task_queue=task_queue,
            result_type=DrillResult,
        )
        return result

    result = server.run(scheduled_run())
    reference = result.incident
    assert reference.startswith("EXR-")
    drill = Drill.objects.get(pk=result.drill)
    assert drill.gate_refused is True  # the gate really refused the contained canary
    assert ManagedKey.objects.count() == production + 2
    assert all(ManagedKey.objects.get(pk=k).exercise for k in drill.canary_keys)

    _approve(reference, "confirm_compromise", people, authenticators, roles.SECURITY_LEAD, roles.KEY_CUSTODIAN)
    incident_record_awareness(reference=reference, aware_at=timezone.now(), actor=actor(people[roles.COMMANDER]))
    # Legal completes the facts as in a real incident: the organisation is a controller (GDPR applies).
    exercise = Incident.objects.get(reference=reference)
    facts = assessment_prefill(exercise) | {"entity": {"roles": ["controller"]}}
    assessment_record(incident=exercise, facts=facts, actor=actor(people[roles.LEGAL_DPO]), note="drill facts")
    pump_until(lambda: Incident.objects.get(reference=reference).step == "close", timeout=120, what="the close step")
    incident = Incident.objects.get(reference=reference)
    assert incident.exercise
    assert list(Notification.objects.filter(incident=incident).values_list("party__name", flat=True)) == [desk.name]
    assert Notification.objects.get(incident=incident).subject.startswith("[EXERCISE]")
    required = Obligation.objects.filter(incident=incident, status="required").first()
    assert required is not None  # the clocks are computed ...
    with pytest.raises(FilingInvalid, match="exercise"):  # ... and never filed
        filing_signoff_request(
            obligation=required, user=people[roles.LEGAL_DPO], actor=actor(people[roles.LEGAL_DPO]), reason="x"
        )

    open_checks = {item.check for item in closure_open_items(incident)}
    assert {"review", "acknowledgements", "obligations"} <= open_checks
    incident_advance(
        reference=reference,
        action="request_close",
        choice="keep_decrypt_only",
        actor=actor(people[roles.COMMANDER]),
        waivers=dict.fromkeys(open_checks, "exercise: left open by the drill's design"),
    )
    _approve(reference, "close_incident", people, authenticators, roles.SECURITY_LEAD, roles.LEGAL_DPO)
    pump_until(lambda: Incident.objects.get(reference=reference).status == "closed", timeout=90, what="closure")

    # Scored against the targets, with the drill's own checks.
    card = drill_scorecard(Drill.objects.get(pk=drill.pk))
    assert card["status"] == "finished"
    assert all(check["passed"] for check in card["checks"]), card["checks"]
    assert {f["measure"] for f in card["figures"]} >= {"contain", "confirm", "restrict", "rewrap", "decide"}
    assert Drill.objects.get(pk=drill.pk).scorecard == card  # frozen once closed

    # Marked everywhere: audit, mails, pages, case file.
    events = AuditEvent.objects.filter(incident=reference)
    assert {"drill.started", "drill.gate_probe", "incident.opened", "key.suspended", "incident.closed"} <= set(
        events.values_list("action", flat=True)
    )
    assert events.get(action="incident.opened").data["exercise"] is True
    assert any("[EXERCISE]" in m.subject and reference in m.subject for m in mail.outbox)  # critical: commander told
    client = Client()
    client.force_login(people[roles.COMMANDER])
    assert "EXERCISE" in client.get(f"/incidents/{reference}/").content.decode()
    assert reference in client.get("/drills/").content.decode()
    pdf, _pages, _events = casefile_build(incident, actor=Actor.system("tests"), progress=lambda *_: None)
    cover = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "EXERCISE" in cover
