"""Health of the stack: database, Redis, Temporal (server and worker) and the Celery workers.

Checks run in parallel, each bounded by a timeout, so a dead dependency costs one timeout, not one per
check. Results carry a status and a latency; the error text is for signed-in staff only.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import redis
from django.conf import settings
from django.db import connection

if TYPE_CHECKING:
    from temporalio.client import Client

logger = logging.getLogger(__name__)

UP = "up"
DOWN = "down"


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    status: str
    latency_ms: float
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == UP


@dataclass(frozen=True, slots=True)
class HealthReport:
    checks: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def down(self) -> list[str]:
        return [check.name for check in self.checks if not check.ok]


def check_database(timeout: float) -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()
    return "SELECT 1"


def check_redis(timeout: float) -> str:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()
    return "PING"


async def _temporal_client(timeout: float) -> Client:
    from temporalio.client import Client  # the SDK is loaded when health is checked, not at start-up

    return await asyncio.wait_for(
        Client.connect(settings.TEMPORAL_ADDRESS, namespace=settings.TEMPORAL_NAMESPACE), timeout
    )


async def _temporal_server(timeout: float) -> str:
    client = await _temporal_client(timeout)
    await client.service_client.check_health(timeout=timedelta(seconds=timeout))
    return f"{settings.TEMPORAL_ADDRESS} namespace {settings.TEMPORAL_NAMESPACE}"


async def _temporal_worker(timeout: float) -> str:
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    client = await _temporal_client(timeout)
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=settings.TEMPORAL_NAMESPACE,
            task_queue=TaskQueue(name=settings.TEMPORAL_TASK_QUEUE),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        ),
        timeout=timedelta(seconds=timeout),
    )
    if not described.pollers:
        raise RuntimeError(f"no worker polls the task queue {settings.TEMPORAL_TASK_QUEUE}")
    return f"{len(described.pollers)} poller(s) on {settings.TEMPORAL_TASK_QUEUE}"


def check_temporal(timeout: float) -> str:
    return asyncio.run(_temporal_server(timeout))


def check_temporal_worker(timeout: float) -> str:
    """Temporal remembers a poller for a few minutes, so a worker that just stopped still counts."""
    return asyncio.run(_temporal_worker(timeout))


def check_celery(timeout: float) -> str:
    from webapp.celery import app

    replies = app.control.ping(timeout=timeout, limit=1)
    if not replies:
        raise RuntimeError("no Celery worker answered a ping")
    return ", ".join(name for reply in replies for name in reply)


CHECKS: dict[str, Callable[[float], str]] = {
    "database": check_database,
    "redis": check_redis,
    "temporal": check_temporal,
    "temporal_worker": check_temporal_worker,
    "celery": check_celery,
}


def _timed(name: str, check: Callable[[float], str], timeout: float) -> CheckResult:
    started = time.perf_counter()
    try:
        detail = check(timeout)
    except Exception as exc:  # noqa: BLE001 - any failure of a dependency means "down"
        return CheckResult(name, DOWN, _elapsed_ms(started), f"{type(exc).__name__}: {exc}"[:300])
    return CheckResult(name, UP, _elapsed_ms(started), detail)


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def stack_health(timeout: float | None = None) -> HealthReport:
    budget = timeout if timeout is not None else settings.SEQUESTER_HEALTH_TIMEOUT_SECONDS
    pool = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="health")
    futures = {name: pool.submit(_timed, name, check, budget) for name, check in CHECKS.items()}
    deadline = time.monotonic() + budget + 1.0
    results = []
    for name, future in futures.items():
        try:
            results.append(future.result(timeout=max(0.0, deadline - time.monotonic())))
        except FutureTimeout:
            results.append(CheckResult(name, DOWN, round((budget + 1.0) * 1000, 1), "timed out"))
    # A hung check must not hold the request: its thread finishes (or times out) on its own.
    pool.shutdown(wait=False, cancel_futures=True)
    return HealthReport(tuple(results))


# --- the snapshot pages read ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class HealthSnapshot:
    """The stack's health as last probed, and when. Unknown until the first probe has finished: a page
    says "not checked yet", never "up"."""

    report: HealthReport | None
    checked_at: datetime | None

    @property
    def known(self) -> bool:
        return self.report is not None

    @property
    def ok(self) -> bool:
        return self.report is not None and self.report.ok

    @property
    def down(self) -> list[str]:
        return self.report.down if self.report is not None else []

    @property
    def checks(self) -> tuple[CheckResult, ...]:
        return self.report.checks if self.report is not None else ()


class _Snapshots:
    """One per process: the latest snapshot, and the daemon thread that refreshes it (started on first
    read, again in a forked child, again if it died)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latest = HealthSnapshot(None, None)
        self.thread: threading.Thread | None = None
        self.pid = 0
        self.stopping = threading.Event()

    def ensure_refreshing(self, every: float) -> None:
        if every <= 0:
            return
        with self.lock:
            if self.thread is not None and self.thread.is_alive() and self.pid == os.getpid():
                return
            self.pid = os.getpid()
            self.thread = threading.Thread(target=self._loop, args=(every,), name="health-refresh", daemon=True)
            self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=10)

    def _loop(self, every: float) -> None:
        while not self.stopping.is_set():
            try:
                health_refresh()
            except Exception:  # a failed round leaves the last snapshot (its age shows it)
                logger.exception("health.refresh_failed")
            self.stopping.wait(every)


_snapshots = _Snapshots()


def health_refresh(timeout: float | None = None) -> HealthSnapshot:
    """Probe the stack now (bounded by the timeout) and keep the result for the pages."""
    from django.utils import timezone

    snapshot = HealthSnapshot(stack_health(timeout), timezone.now())
    _snapshots.latest = snapshot
    return snapshot


def health_snapshot() -> HealthSnapshot:
    """The last probe's result, at once (pages never wait on a probe); starts the refresher if needed."""
    _snapshots.ensure_refreshing(float(settings.SEQUESTER_HEALTH_REFRESH_SECONDS))
    return _snapshots.latest
