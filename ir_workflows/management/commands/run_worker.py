"""``manage.py run_worker``: the Temporal worker, started after Django is configured."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import Any

import structlog
from django.conf import settings
from django.core.management.base import BaseCommand
from temporalio.service import RPCError

from ir_workflows.client import metrics_runtime, temporal_client
from ir_workflows.drills.schedule import drill_schedule_ensure
from ir_workflows.worker import activity_executor, build_worker

log = structlog.get_logger(__name__)
HEARTBEAT_SECONDS = 10.0


class Command(BaseCommand):
    help = "Run the Temporal worker on the configured task queue until SIGINT or SIGTERM."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--task-queue", default=None, help="Defaults to TEMPORAL_TASK_QUEUE.")
        parser.add_argument("--connect-timeout", type=float, default=60.0, help="Seconds to wait for Temporal.")
        parser.add_argument("--heartbeat-file", type=Path, default=None, help="Touched every 10 s while running.")

    def handle(self, *args: Any, **options: Any) -> None:
        task_queue = options["task_queue"] or settings.TEMPORAL_TASK_QUEUE
        # The sandbox imports the workflow modules afresh for every workflow it starts: without cached
        # bytecode (PYTHONDONTWRITEBYTECODE) each start recompiles them from source. Let the first
        # import write it (a read-only tree just leaves it unwritten, as Python always does).
        sys.dont_write_bytecode = False
        asyncio.run(self._run(task_queue, options["connect_timeout"], options["heartbeat_file"]))

    async def _run(self, task_queue: str, connect_timeout: float, heartbeat_file: Path | None) -> None:
        client = await self._connect(connect_timeout)
        if settings.SEQUESTER_DRILL_SCHEDULE:
            try:
                done = await drill_schedule_ensure(
                    client, cron=settings.SEQUESTER_DRILL_SCHEDULE, task_queue=task_queue
                )
                log.info("temporal.drill_schedule", outcome=done, cron=settings.SEQUESTER_DRILL_SCHEDULE)
            except RPCError as exc:  # the worker still runs; the schedule is retried at the next start
                log.error("temporal.drill_schedule_failed", error=str(exc))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        with activity_executor() as executor:
            async with build_worker(client, task_queue=task_queue, executor=executor):
                log.info("temporal.worker_started", address=settings.TEMPORAL_ADDRESS, task_queue=task_queue)
                while not stop.is_set():
                    if heartbeat_file is not None:
                        heartbeat_file.touch()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), HEARTBEAT_SECONDS)
                log.info("temporal.worker_stopping")
        log.info("temporal.worker_stopped")

    async def _connect(self, timeout: float) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        address = settings.SEQUESTER_WORKER_METRICS_ADDRESS
        runtime = metrics_runtime(address) if address else None
        if runtime is not None:
            log.info("temporal.worker_metrics", address=f"http://{address}/metrics")
        while True:
            try:
                return await temporal_client(runtime=runtime)
            except RuntimeError as exc:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                log.warning("temporal.connect_retry", error=str(exc))
                await asyncio.sleep(1.0)
