"""The Temporal worker: an explicit list of workflows and activities (a test checks it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from ir_workflows.approvals.activities import expire_approval_request, send_approval_notice
from ir_workflows.approvals.workflows import ApprovalRequestWorkflow
from ir_workflows.drills.activities import DRILL_ACTIVITIES
from ir_workflows.drills.workflows import ScheduledDrillWorkflow
from ir_workflows.incident.activities import PLAYBOOK_ACTIVITIES
from ir_workflows.incident.workflows import (
    KeyCompromiseIncidentWorkflow,
    KeyRestrictionBatchWorkflow,
    KeyRestrictionWorkflow,
)
from ir_workflows.notifications.activities import NOTIFICATION_ACTIVITIES
from ir_workflows.notifications.workflows import PartyNotificationWorkflow
from ir_workflows.regulatory.activities import REGULATORY_ACTIVITIES
from ir_workflows.regulatory.workflows import ObligationClockWorkflow
from ir_workflows.smoke.activities import record_stack_probe
from ir_workflows.smoke.workflows import StackProbeWorkflow

WORKFLOWS: Sequence[type] = (
    StackProbeWorkflow,
    ApprovalRequestWorkflow,
    KeyCompromiseIncidentWorkflow,
    KeyRestrictionBatchWorkflow,
    KeyRestrictionWorkflow,
    ObligationClockWorkflow,
    PartyNotificationWorkflow,
    ScheduledDrillWorkflow,
)
ACTIVITIES: Sequence[Callable[..., Any]] = (
    record_stack_probe,
    send_approval_notice,
    expire_approval_request,
    *PLAYBOOK_ACTIVITIES,
    *REGULATORY_ACTIVITIES,
    *NOTIFICATION_ACTIVITIES,
    *DRILL_ACTIVITIES,
)

ACTIVITY_THREADS = 16

# Our workflow-side modules are pure (no I/O, no Django: a test checks the imports), so the sandbox may
# share them between runs instead of re-importing them for every new workflow; every workflow still
# runs sandboxed, and the replay tests guard determinism.
SANDBOX = SandboxRestrictions.default.with_passthrough_modules(
    "approvals.actions",
    "approvals.quorum",
    "ir_workflows.retry",
    "ir_workflows.approvals.types",
    "ir_workflows.incident.types",
    "ir_workflows.incident.procedure",
    "ir_workflows.regulatory.types",
    "ir_workflows.notifications.types",
    "ir_workflows.smoke.types",
    "ir_workflows.drills.types",
)


def activity_executor(threads: int = ACTIVITY_THREADS) -> ThreadPoolExecutor:
    """Sync activities (ORM, keys, files) run here; the caller shuts it down after the worker."""
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="activity")


def build_worker(
    client: Client,
    *,
    task_queue: str,
    executor: ThreadPoolExecutor,
    activities: Sequence[Callable[..., Any]] = ACTIVITIES,
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflow_runner=SandboxedWorkflowRunner(restrictions=SANDBOX),
        workflows=list(WORKFLOWS),
        activities=list(activities),
        activity_executor=executor,
        max_concurrent_activities=executor._max_workers,
    )
