"""The Temporal worker: an explicit list of workflows and activities (a test checks it)."""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion
from temporalio.worker import Worker, WorkerDeploymentConfig
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


DEPLOYMENT_NAME = "sequester"


def workflow_build_id() -> str:
    """A hash of the workflow-side source (the workflow modules and the pure modules they import): two
    deploys with the same workflow code share a build id, a change to it gives a new one. Temporal records
    it on every workflow task a worker completes, so a history tells which code ran each step."""
    ours = Path(__file__).resolve().parent.parent
    modules = sorted({cls.__module__ for cls in WORKFLOWS} | set(SANDBOX.passthrough_modules))
    digest = hashlib.sha256()
    for name in modules:
        spec = importlib.util.find_spec(name)
        origin = Path(spec.origin).resolve() if spec is not None and spec.origin else None
        if origin is not None and origin.suffix == ".py" and ours in origin.parents and ".venv" not in origin.parts:
            digest.update(name.encode() + b"\0" + origin.read_bytes())
    return f"wf-{digest.hexdigest()[:16]}"


def worker_build_id() -> str:
    from django.conf import settings

    return settings.SEQUESTER_WORKER_BUILD_ID or workflow_build_id()


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
        # The build id is recorded (versioning routing stays off: a deploy never strands a running history;
        # determinism across deploys is kept by ``workflow.patched`` and the replay tests).
        deployment_config=WorkerDeploymentConfig(
            version=WorkerDeploymentVersion(deployment_name=DEPLOYMENT_NAME, build_id=worker_build_id()),
            use_worker_versioning=False,
        ),
    )
