"""Issue 7's scenario with the durable timers for real: each notification's workflow on the time-skipping
server, the real activities (database, SMTP server, webhook receiver) on the worker's thread pool."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test import Client
from temporalio.worker import Worker

from ir_workflows.models import TemporalOutbox
from ir_workflows.notifications.activities import NOTIFICATION_ACTIVITIES
from ir_workflows.notifications.types import (
    NOTIFICATION_ACKED_UPDATE,
    NOTIFICATION_WORKFLOW,
    AckUpdate,
    NotificationInput,
    NotificationResult,
)
from ir_workflows.notifications.workflows import PartyNotificationWorkflow
from ir_workflows.worker import activity_executor
from notifications.models import Notification
from notifications.services.messages import notifications_approve, notifications_draft
from tests.notifications.conftest import SYSTEM

pytestmark = pytest.mark.django_db(transaction=True)

ACK_LINK = re.compile(r"http://localhost:8000/notifications/ack/#([A-Za-z0-9_-]+)")
SLA = timedelta(minutes=60)
T = TypeVar("T")


def _db(function: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """Run ``function`` on asgiref's thread, closing that thread's connection after (PostgreSQL teardown)."""

    def call(*args: Any) -> T:
        try:
            return function(*args)
        finally:
            connection.close()

    return sync_to_async(call)


def _approve(case, commander) -> dict[str, tuple[int, NotificationInput]]:
    notifications_draft(reference=case.incident.reference, actor=SYSTEM)
    approved = notifications_approve(reference=case.incident.reference, user=commander, actor=SYSTEM)
    starts = {e.workflow_id: e.payload for e in TemporalOutbox.objects.filter(workflow_type=NOTIFICATION_WORKFLOW)}
    return {n.party.name: (n.pk, NotificationInput(**starts[n.workflow_id])) for n in approved}


async def _mail(smtp, address: str, count: int) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        mails = [m for tos, m in smtp.messages if address in tos]
        if len(mails) >= count:
            return str(mails[count - 1].get_payload())
        await asyncio.sleep(0.1)
    raise AssertionError(f"no mail #{count} to {address}")


def _ack(body: str, name: str) -> int:
    match = ACK_LINK.search(body)
    assert match is not None
    return Client().post("/notifications/ack/", {"token": match.group(1), "name": name}).status_code


async def test_one_acknowledges_one_is_reminded_one_escalates(
    case, commander, smtp, webhook_receiver, own_time_skipping_env
):
    env, task_queue = own_time_skipping_env, f"notify-{uuid.uuid4().hex[:8]}"
    plans = await _db(_approve)(case, commander)
    assert all(p.ack_sla_seconds == SLA.total_seconds() for _, p in plans.values())
    with activity_executor(4) as executor:
        async with Worker(
            env.client,
            task_queue=task_queue,
            workflows=[PartyNotificationWorkflow],
            activities=list(NOTIFICATION_ACTIVITIES),
            activity_executor=executor,
        ):
            handles = {
                name: await env.client.start_workflow(
                    NOTIFICATION_WORKFLOW,
                    plan,
                    id=f"{plan.notification_id}-{uuid.uuid4().hex[:6]}",
                    task_queue=task_queue,
                    result_type=NotificationResult,
                )
                for name, (_, plan) in plans.items()
            }
            # The vendor acknowledges its first email at once (the ack page enqueues the update).
            body = await _mail(smtp, "security@acme-hsm.test", 1)
            assert await _db(_ack)(body, "Dana at Acme") == 200
            vendor_id = plans["Acme HSM"][0]
            await handles["Acme HSM"].execute_update(NOTIFICATION_ACKED_UPDATE, AckUpdate(vendor_id, "Dana"), id="ack")

            await _mail(smtp, "ops@shopapps.test", 1)
            await _mail(smtp, "ciso@beta-ai.test", 1)
            await env.sleep(SLA + timedelta(minutes=5))  # the SLA passes: reminders
            reminder = await _mail(smtp, "ops@shopapps.test", 2)
            assert await _db(_ack)(reminder, "ops on call") == 200
            app_id = plans["Shop Apps"][0]
            await handles["Shop Apps"].execute_update(NOTIFICATION_ACKED_UPDATE, AckUpdate(app_id, "ops"), id="ack")

            results = {name: await handle.result() for name, handle in handles.items()}

    assert {name: (r.outcome, r.reminders) for name, r in results.items()} == {
        "Acme HSM": ("acknowledged", 0),
        "Shop Apps": ("acknowledged", 1),
        "Beta AI Customer": ("escalated", 1),
    }
    await _mail(smtp, "ceo@beta-ai.test", 1)  # the customer's escalation contact
    await _mail(smtp, "cmdr@example.test", 1)  # and the incident's commander
    rows = await _db(
        lambda: {n.party.name: (n.status, n.reminders_sent) for n in Notification.objects.select_related("party")}
    )()
    assert rows == {
        "Acme HSM": ("acknowledged", 0),
        "Shop Apps": ("acknowledged", 1),
        "Beta AI Customer": ("escalated", 1),
    }
    assert len([m for tos, m in smtp.messages if "security@acme-hsm.test" in tos]) == 1  # never reminded
    ids = [r.headers["webhook-id"] for r in webhook_receiver.received]
    assert len(ids) == len(set(ids)) == 4  # vendor: initial; customer: initial, reminder, escalation


@pytest.mark.slow  # the retry policy's first backoff is 10 s of wall-clock time
async def test_a_failing_webhook_is_retried_with_backoff_under_the_same_id(
    case, commander, smtp, webhook_receiver, own_time_skipping_env
):
    env, task_queue = own_time_skipping_env, f"notify-{uuid.uuid4().hex[:8]}"
    plans = await _db(_approve)(case, commander)
    webhook_receiver.statuses = [503]
    _, plan = plans["Acme HSM"]
    with activity_executor(2) as executor:
        async with Worker(
            env.client,
            task_queue=task_queue,
            workflows=[PartyNotificationWorkflow],
            activities=list(NOTIFICATION_ACTIVITIES),
            activity_executor=executor,
        ):
            handle = await env.client.start_workflow(
                NOTIFICATION_WORKFLOW, plan, id=f"retry-{uuid.uuid4().hex[:6]}", task_queue=task_queue
            )
            deadline = time.monotonic() + 60
            while len(webhook_receiver.received) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            await handle.terminate("enough")
    first, second = webhook_receiver.received[:2]
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert len([m for tos, m in smtp.messages if "security@acme-hsm.test" in tos]) == 1  # email not resent
