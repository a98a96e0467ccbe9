"""/healthz against real dependencies: all up, then a stopped one named as down with HTTP 503."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from django.test import override_settings

from ir_workflows.client import temporal_client
from ir_workflows.worker import activity_executor, build_worker
from tests.servers import celery_worker_process, free_port
from webapp.stack.redis_server import start_private_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _running_temporal_worker(address: str, task_queue: str):
    """A real Temporal worker on ``task_queue`` in a background event loop; returns a stop function."""
    import threading

    started = threading.Event()
    loop = asyncio.new_event_loop()
    holder: dict[str, asyncio.Event] = {}

    async def main() -> None:
        client = await temporal_client(address=address)
        holder["stop"] = asyncio.Event()
        with activity_executor(2) as executor:
            async with build_worker(client, task_queue=task_queue, executor=executor):
                started.set()
                await holder["stop"].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(30)

    def stop() -> None:
        loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(30)

    return stop


def test_all_up_then_redis_stopped_is_named(client, temporal_address, tmp_path):
    task_queue = f"health-{uuid.uuid4().hex}"
    socket_path = Path(f"/tmp/sqr-health-{uuid.uuid4().hex[:8]}.sock")
    redis_process = start_private_server(socket_path)
    stop_worker = _running_temporal_worker(temporal_address, task_queue)
    try:
        with (
            celery_worker_process(),
            override_settings(
                TEMPORAL_ADDRESS=temporal_address,
                TEMPORAL_TASK_QUEUE=task_queue,
                REDIS_URL=f"unix://{socket_path}",
            ),
        ):
            response = client.get("/healthz")
            body = response.json()
            assert response.status_code == 200, body
            assert body["status"] == "ok"
            assert set(body["checks"]) == {"database", "redis", "temporal", "temporal_worker", "celery"}
            assert all(check["latency_ms"] >= 0 for check in body["checks"].values())

            redis_process.terminate()
            redis_process.wait(10)
            response = client.get("/healthz")
            body = response.json()
            assert response.status_code == 503
            assert body["down"] == ["redis"]
            assert body["checks"]["redis"]["status"] == "down"
            assert "detail" not in body["checks"]["redis"]  # anonymous callers get no error text
    finally:
        stop_worker()
        redis_process.kill()
        socket_path.unlink(missing_ok=True)


def test_temporal_down_is_named(client, commander):
    client.force_login(commander)
    with override_settings(TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}"):
        response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert "temporal" in body["down"]
    assert "temporal_worker" in body["down"]
    assert body["checks"]["temporal"]["detail"]  # signed-in users see why
