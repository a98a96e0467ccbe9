"""``manage.py run_worker``: the Temporal worker, started after Django is configured."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import structlog
from django.conf import settings
from django.core.management.base import BaseCommand

from ir_workflows.client import temporal_client
from ir_workflows.worker import build_worker

log = structlog.get_logger(__name__)


class Command(BaseCommand):
    help = "Run the Temporal worker on the configured task queue until SIGINT or SIGTERM."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--task-queue", default=None, help="Defaults to TEMPORAL_TASK_QUEUE.")
        parser.add_argument("--connect-timeout", type=float, default=60.0, help="Seconds to wait for Temporal.")

    def handle(self, *args: Any, **options: Any) -> None:
        asyncio.run(self._run(options["task_queue"] or settings.TEMPORAL_TASK_QUEUE, options["connect_timeout"]))

    async def _run(self, task_queue: str, connect_timeout: float) -> None:
        client = await self._connect(connect_timeout)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        worker = build_worker(client, task_queue=task_queue)
        log.info("temporal.worker_started", address=settings.TEMPORAL_ADDRESS, task_queue=task_queue)
        async with worker:
            await stop.wait()
            log.info("temporal.worker_stopping")
        log.info("temporal.worker_stopped")

    async def _connect(self, timeout: float) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                return await temporal_client()
            except RuntimeError as exc:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                log.warning("temporal.connect_retry", error=str(exc))
                await asyncio.sleep(1.0)
