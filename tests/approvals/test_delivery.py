"""Decisions reach the waiting workflow as Temporal updates, through the outbox: with Temporal down the
decision is kept, and delivered once Temporal is back — none lost, none applied twice."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from approvals import policies
from approvals.models import ApprovalRequest, Decision
from ir_workflows.approvals.types import ApprovalGateResult
from ir_workflows.client import temporal_client
from ir_workflows.models import TemporalOutbox
from ir_workflows.outbox import DeliveryRetry, outbox_deliver, outbox_pending
from ir_workflows.tasks import sweep_outbox
from ir_workflows.worker import activity_executor, build_worker
from tests.approvals.conftest import decide, open_request, suspended_key
from tests.servers import free_port
from webapp import roles

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


class RunningWorker:
    """A real Temporal worker (all registered workflows and activities) in a background loop."""

    def __init__(self, address: str, task_queue: str) -> None:
        self.address, self.task_queue = address, task_queue
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        client = await temporal_client(address=self.address)
        self._stop = asyncio.Event()
        with activity_executor(4) as executor:
            async with build_worker(client, task_queue=self.task_queue, executor=executor):
                self._started.set()
                await self._stop.wait()

    def __enter__(self) -> RunningWorker:
        self._thread.start()
        assert self._started.wait(30)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


def _deliver_all() -> None:
    for entry in TemporalOutbox.objects.filter(delivered_at__isnull=True, gave_up_at__isnull=True):
        outbox_deliver(entry.pk)


async def _result(address: str, workflow_id: str) -> ApprovalGateResult:
    client = await temporal_client(address=address)
    result: ApprovalGateResult = await client.get_workflow_handle(workflow_id, result_type=ApprovalGateResult).result()
    return result


def test_temporal_down_then_up(people, authenticators, temporal_address):
    task_queue = "approvals-delivery-test"
    down = f"127.0.0.1:{free_port()}"
    with override_settings(TEMPORAL_ADDRESS=down, TEMPORAL_TASK_QUEUE=task_queue):
        request = open_request(
            policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key().id)]}
        )
        decide(people[roles.SECURITY_LEAD], request, authenticator=authenticators[roles.SECURITY_LEAD])
        decide(people[roles.KEY_CUSTODIAN], request, authenticator=authenticators[roles.KEY_CUSTODIAN])
        request.refresh_from_db()
        assert request.status == "approved"  # the database decides, Temporal or not
        start = TemporalOutbox.objects.get(kind="start")
        with pytest.raises(DeliveryRetry):
            outbox_deliver(start.pk)
        start.refresh_from_db()
        assert start.delivered_at is None
        assert start.attempts == 1
        assert start.last_error
    assert set(outbox_pending(older_than=timedelta(0))) == set(TemporalOutbox.objects.values_list("pk", flat=True))

    with (
        override_settings(TEMPORAL_ADDRESS=temporal_address, TEMPORAL_TASK_QUEUE=task_queue),
        RunningWorker(temporal_address, task_queue),
    ):
        _deliver_all()
        _deliver_all()  # delivering again changes nothing: the outbox and Temporal are idempotent
        result = asyncio.run(_result(temporal_address, request.workflow_id))
    assert result.status == "approved"
    assert sorted(result.approvers) == ["p-key_custodian", "p-security_lead"]
    assert len(result.decision_ids) == 2
    assert TemporalOutbox.objects.filter(delivered_at__isnull=True).count() == 0
    assert Decision.objects.filter(delivered_at__isnull=True).count() == 0  # each decision reached the workflow
    assert ApprovalRequest.objects.get(pk=request.pk).status == "approved"


def test_the_sweep_delivers_what_a_lost_task_left(people, authenticators, temporal_address):
    task_queue = "approvals-sweep-test"
    with (
        override_settings(TEMPORAL_ADDRESS=temporal_address, TEMPORAL_TASK_QUEUE=task_queue),
        RunningWorker(temporal_address, task_queue),
    ):
        request = open_request(
            policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key().id)]}
        )
        TemporalOutbox.objects.update(created_at=timezone.now() - timedelta(minutes=1))  # its task was lost
        assert sweep_outbox() == 1
        decide(people[roles.SECURITY_LEAD], request, authenticator=authenticators[roles.SECURITY_LEAD])
        decide(
            people[roles.KEY_CUSTODIAN],
            request,
            "reject",
            authenticator=authenticators[roles.KEY_CUSTODIAN],
            reason="no",
        )
        _deliver_all()
        result = asyncio.run(_result(temporal_address, request.workflow_id))
    assert result.status == "rejected"
