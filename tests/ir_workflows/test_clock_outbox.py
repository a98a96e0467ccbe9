"""The outbox delivers a clock start to the incident's running workflow, which starts the clock as its
child (once, however often the entry is delivered); with no incident workflow running it starts the clock
standalone. On the time-skipping server, with payloads encrypted as in production."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from django.test import override_settings
from temporalio.api.enums.v1 import ParentClosePolicy
from temporalio.client import Client, WorkflowExecutionDescription
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from ir_workflows.client import temporal_client
from ir_workflows.incident.types import IncidentInput
from ir_workflows.incident.workflows import (
    KeyCompromiseIncidentWorkflow,
    KeyRestrictionBatchWorkflow,
    KeyRestrictionWorkflow,
)
from ir_workflows.models import TemporalOutbox
from ir_workflows.outbox import DeliveryRetry, outbox_deliver, outbox_start, outbox_start_child, outbox_update
from ir_workflows.regulatory.types import (
    CLOCK_START_UPDATE,
    OBLIGATION_CLOCK_WORKFLOW,
    ClockInput,
)
from ir_workflows.regulatory.workflows import ObligationClockWorkflow
from tests.ir_workflows.test_incident_workflow import Fakes
from tests.ir_workflows.test_obligation_clock import Recorder
from tests.servers import temporal_test_server_binary

pytestmark = pytest.mark.django_db

T = TypeVar("T")
CLOCK = ClockInput(
    incident="INC-2026-0001", rule_id="EU-GDPR-33", trigger_at="2026-03-01T12:00:00Z", due_at="2026-03-04T12:00:00Z"
)


class Stack:
    """A time-skipping server and a worker (incident and clock workflows, fake activities) in a background
    event loop, so that the test's own thread can deliver the outbox as Celery would."""

    def __init__(self) -> None:
        self.task_queue = f"tq-{uuid.uuid4()}"
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, daemon=True).start()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(60)

    async def start(self) -> None:
        self.env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=temporal_test_server_binary()
        )
        self.address = self.env.client.service_client.config.target_host
        self.client: Client = await temporal_client(address=self.address)  # with the payload codec
        self.worker = Worker(
            self.client,
            task_queue=self.task_queue,
            workflows=[
                KeyCompromiseIncidentWorkflow,
                KeyRestrictionBatchWorkflow,
                KeyRestrictionWorkflow,
                ObligationClockWorkflow,
            ],
            activities=[*Fakes().activities(), *Recorder().activities()],
        )
        self._running = asyncio.create_task(self.worker.run())

    async def stop(self) -> None:
        await self.worker.shutdown()
        await self._running
        await self.env.shutdown()

    async def start_incident(self) -> str:
        workflow_id = f"incident-{uuid.uuid4()}"
        await self.client.start_workflow(
            KeyCompromiseIncidentWorkflow.run,
            IncidentInput(incident="INC-2026-0001", keys=["k1"], severity="high"),
            id=workflow_id,
            task_queue=self.task_queue,
        )
        return workflow_id

    def describe(self, workflow_id: str) -> WorkflowExecutionDescription:
        return self.run(self.client.get_workflow_handle(workflow_id).describe())


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    stack = Stack()
    stack.run(stack.start())
    try:
        yield stack
    finally:
        stack.run(stack.stop())


@pytest.fixture
def deliver(stack: Stack) -> Iterator[None]:
    with override_settings(TEMPORAL_ADDRESS=stack.address, TEMPORAL_TASK_QUEUE=stack.task_queue):
        yield


def _child_entry(parent: str) -> TemporalOutbox:
    return outbox_start_child(
        parent_workflow_id=parent,
        update_name=CLOCK_START_UPDATE,
        workflow_type=OBLIGATION_CLOCK_WORKFLOW,
        workflow_id=f"obligation-clock-{uuid.uuid4()}",
        payload=CLOCK,
    )


def test_the_clock_starts_as_a_child_of_the_running_incident_once(stack, deliver):
    parent = stack.run(stack.start_incident())
    entry = _child_entry(parent)
    assert outbox_deliver(entry.pk)
    entry.refresh_from_db()
    assert entry.delivered_at is not None
    assert entry.result == {"workflow_id": entry.workflow_id, "started": True}
    assert stack.describe(entry.workflow_id).parent_id == parent

    # re-delivered (a lost acknowledgement, the sweep): neither an error nor a second clock
    TemporalOutbox.objects.filter(pk=entry.pk).update(delivered_at=None)
    assert outbox_deliver(entry.pk)
    entry.refresh_from_db()
    assert (entry.delivered_at is not None, entry.gave_up_at, entry.last_error) == (True, None, "")
    assert stack.describe(entry.workflow_id).parent_id == parent

    # started once, to be abandoned when the incident's workflow closes (a legal deadline runs on)
    history = stack.run(stack.client.get_workflow_handle(parent).fetch_history())
    children = [
        e.start_child_workflow_execution_initiated_event_attributes
        for e in history.events
        if e.HasField("start_child_workflow_execution_initiated_event_attributes")
    ]
    assert [(c.workflow_id, c.parent_close_policy) for c in children] == [
        (entry.workflow_id, ParentClosePolicy.PARENT_CLOSE_POLICY_ABANDON)
    ]


def test_with_the_incident_workflow_ended_the_clock_starts_standalone(stack, deliver):
    parent = stack.run(stack.start_incident())
    stack.run(stack.client.get_workflow_handle(parent).terminate(reason="the incident workflow ended"))
    entry = _child_entry(parent)
    assert outbox_deliver(entry.pk)
    entry.refresh_from_db()
    assert (entry.delivered_at is not None, entry.gave_up_at) == (True, None)
    result = entry.result or {}
    assert result["started"] is True
    assert result["standalone"].startswith("the parent is not running")
    described = stack.describe(entry.workflow_id)
    assert (described.parent_id, described.workflow_type) == (None, OBLIGATION_CLOCK_WORKFLOW)


def test_the_clock_waits_for_its_incident_workflow_to_start(stack, deliver):
    parent = f"incident-{uuid.uuid4()}"
    incident_start = outbox_start(
        workflow_type="KeyCompromiseIncident",
        workflow_id=parent,
        payload=IncidentInput(incident="INC-2026-0001", keys=["k1"], severity="high"),
    )
    entry = _child_entry(parent)
    with pytest.raises(DeliveryRetry):  # its start is still in the outbox: not yet, rather than standalone
        outbox_deliver(entry.pk)
    entry.refresh_from_db()
    assert entry.delivered_at is None
    assert "not started yet" in entry.last_error
    assert outbox_deliver(incident_start.pk)
    assert outbox_deliver(entry.pk)
    assert stack.describe(entry.workflow_id).parent_id == parent


def test_a_clock_move_waits_for_the_clock_to_start(stack, deliver):
    entry = _child_entry(f"incident-{uuid.uuid4()}")  # never started: the clock will run standalone
    move = outbox_update(
        workflow_id=entry.workflow_id,
        update_name="move_deadline",
        update_id="move-v2",
        payload={"trigger_at": CLOCK.trigger_at, "due_at": "2026-03-05T12:00:00Z", "reason": "corrected"},
    )
    with pytest.raises(DeliveryRetry):  # overtook the start: retried, not given up
        outbox_deliver(move.pk)
    assert outbox_deliver(entry.pk)
    assert outbox_deliver(move.pk)
    move.refresh_from_db()
    assert (move.gave_up_at, move.result) == (None, {"value": "2026-03-05T12:00:00+00:00"})
