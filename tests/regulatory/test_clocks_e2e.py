"""End to end with the dev server, the real worker and the real database: an assessment of an incident
whose workflow is running starts each clock as a child of it (the outbox's child entry, delivered)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from temporalio.client import WorkflowExecutionDescription, WorkflowExecutionStatus

from audit.actors import Actor
from incidents.models import Incident
from incidents.services.incidents import incident_open_or_attach
from ir_workflows.client import temporal_client
from ir_workflows.models import TemporalOutbox
from keyvault.models import DataAsset, ManagedKey, System
from keyvault.services import lifecycle
from regulatory.models import Obligation
from regulatory.services.assessments import assessment_record
from tests.regulatory.conftest import hipaa_facts
from tests.temporal_helpers import RunningWorker, pump_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SYSTEM = Actor.system("tests")


async def _describe(address: str, workflow_id: str) -> WorkflowExecutionDescription:
    client = await temporal_client(address=address)
    return await client.get_workflow_handle(workflow_id).describe()


def test_an_assessment_starts_its_clocks_as_children_of_the_incident_workflow(temporal_address):
    system = System.objects.create(name="patient-portal")
    records = DataAsset.objects.create(
        name="patient-records",
        system=system,
        data_categories=["phi", "personal_data"],
        record_count=800,
        jurisdictions=["US-NY"],
        encrypted=True,
    )
    key = lifecycle.key_create(actor=SYSTEM, alias="records-kek", purpose="tests", data_asset_ids=[records.id])
    task_queue = f"clocks-{uuid.uuid4().hex[:8]}"
    with (
        override_settings(TEMPORAL_ADDRESS=temporal_address, TEMPORAL_TASK_QUEUE=task_queue),
        RunningWorker(temporal_address, task_queue),
    ):
        contained = incident_open_or_attach(
            keys=[ManagedKey.objects.get(pk=key.pk)],
            title="records key leaked",
            severity="high",
            actor=SYSTEM,
            reason="leak",
        )
        incident = Incident.objects.get(pk=contained.incident.pk)
        pump_until(lambda: Incident.objects.get(pk=incident.pk).step == "confirm", what="the running playbook")

        Incident.objects.filter(pk=incident.pk).update(aware_at=timezone.now() - timedelta(hours=2))
        incident.refresh_from_db()
        assessment_record(incident=incident, facts=hipaa_facts(incident), actor=SYSTEM)
        hipaa = Obligation.objects.get(incident=incident, rule_id="US-HIPAA-404")
        entry = TemporalOutbox.objects.get(workflow_id=hipaa.clock_workflow_id)
        assert (entry.kind, entry.parent_workflow_id) == ("child", incident.workflow_id)
        pump_until(lambda: TemporalOutbox.objects.get(pk=entry.pk).delivered_at is not None, what="the clock start")
        entry.refresh_from_db()
        assert entry.result == {"workflow_id": hipaa.clock_workflow_id, "started": True}
        clock = asyncio.run(_describe(temporal_address, hipaa.clock_workflow_id))
        assert (clock.parent_id, clock.status) == (incident.workflow_id, WorkflowExecutionStatus.RUNNING)
