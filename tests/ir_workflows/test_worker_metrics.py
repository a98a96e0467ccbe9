"""The Temporal worker exports the SDK's own metrics (Prometheus) on SEQUESTER_WORKER_METRICS_ADDRESS."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.servers import free_port, worker_database_url

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_worker_serves_the_sdk_metrics(temporal_address):
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "webapp.settings.test",
        "DATABASE_URL": worker_database_url(),
        "TEMPORAL_ADDRESS": temporal_address,
        "TEMPORAL_TASK_QUEUE": f"metrics-{uuid.uuid4().hex[:8]}",
        "SEQUESTER_WORKER_METRICS_ADDRESS": f"127.0.0.1:{port}",
        "SEQUESTER_DRILL_SCHEDULE": "",
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline, text = time.monotonic() + 60, ""
        while time.monotonic() < deadline and "temporal_" not in text:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
                    text = response.read().decode()
            except OSError:
                time.sleep(0.5)
        assert "temporal_" in text, "no Temporal SDK metric served"
        assert "temporal_worker_task_slots_available" in text or "temporal_request" in text
    finally:
        process.terminate()
        process.wait(30)
