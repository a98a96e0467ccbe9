"""``manage.py stack_probe``: a real round trip through the running Celery and Temporal workers."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ir_workflows.client import temporal_client
from ir_workflows.smoke.types import STACK_PROBE_WORKFLOW, StackProbeInput, StackProbeResult, stack_probe_workflow_id
from webapp.tasks import record_stack_probe


class Command(BaseCommand):
    help = "Send a probe through a Celery worker and a Temporal workflow; each writes a database row."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--timeout", type=float, default=30.0)

    def handle(self, *args: Any, **options: Any) -> None:
        probe_id = uuid.uuid4().hex
        timeout = options["timeout"]
        try:
            row = record_stack_probe.delay(probe_id).get(timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - reported as a failed probe
            raise CommandError(f"Celery probe failed: {type(exc).__name__}: {exc}") from None
        self.stdout.write(f"celery    ok  row {row}")
        try:
            result = asyncio.run(self._temporal(probe_id, timeout))
        except Exception as exc:  # noqa: BLE001
            raise CommandError(f"Temporal probe failed: {type(exc).__name__}: {exc}") from None
        self.stdout.write(f"temporal  ok  row {result.row_id} by {result.worker}")

    async def _temporal(self, probe_id: str, timeout: float) -> StackProbeResult:
        client = await temporal_client()
        result: StackProbeResult = await client.execute_workflow(
            STACK_PROBE_WORKFLOW,
            StackProbeInput(probe_id=probe_id),
            id=stack_probe_workflow_id(probe_id),
            task_queue=settings.TEMPORAL_TASK_QUEUE,
            result_type=StackProbeResult,
            execution_timeout=timedelta(seconds=timeout),
        )
        return result
