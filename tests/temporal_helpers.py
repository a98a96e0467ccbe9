"""A real Temporal worker for tests (every registered workflow and activity), and the outbox pump."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from django.db import connection

from ir_workflows.client import temporal_client
from ir_workflows.models import TemporalOutbox
from ir_workflows.outbox import DeliveryRetry, outbox_deliver
from ir_workflows.worker import activity_executor, build_worker


class RunningWorker:
    """The production worker in a background event loop of this process."""

    def __init__(self, address: str, task_queue: str) -> None:
        self.address, self.task_queue = address, task_queue
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        try:
            client = await temporal_client(address=self.address)
            self._stop = asyncio.Event()
            with activity_executor(8) as executor:
                async with build_worker(client, task_queue=self.task_queue, executor=executor):
                    self._started.set()
                    await self._stop.wait()
        except BaseException as exc:
            self._failure = exc
            self._started.set()
            raise

    def __enter__(self) -> RunningWorker:
        self._thread.start()
        # A busy 2-core machine (CI, parallel sessions) may take a while to connect.
        assert self._started.wait(120), "the Temporal worker did not start within 120 s"
        if self._failure is not None:
            raise RuntimeError(f"the Temporal worker failed to start: {self._failure!r}") from self._failure
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)


def deliver_all() -> int:
    """What Celery would do: deliver every pending outbox entry now."""
    delivered = 0
    for entry in TemporalOutbox.objects.filter(delivered_at__isnull=True, gave_up_at__isnull=True).order_by("pk"):
        try:
            outbox_deliver(entry.pk)
            delivered += 1
        except DeliveryRetry:
            pass
    return delivered


def pump_until(
    condition: Callable[[], bool], *, timeout: float = 60.0, what: str | Callable[[], str] = "condition"
) -> None:
    """Deliver the outbox and poll until ``condition`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        deliver_all()
        if condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")
        time.sleep(0.2)


def close_thread_connection() -> None:
    connection.close()
