"""`make run` end to end: runstack on a fresh var/ brings up every process, serves the UI, carries a
probe through Celery and Temporal, and Ctrl-C (SIGINT) stops everything with no orphan left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

import pytest

from tests.processes import pids_with_env, wait_gone
from tests.servers import ROOT, free_port

pytestmark = pytest.mark.slow


def _clean_env(tmp_path, marker: str) -> dict[str, str]:
    drop = ("DATABASE_URL", "REDIS_URL", "TEMPORAL_", "SEQUESTER_", "DJANGO_SETTINGS_MODULE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return env | {
        "DJANGO_SETTINGS_MODULE": "webapp.settings.development",
        "SEQUESTER_VAR_DIR": str(tmp_path / "var"),
        "SEQUESTER_STATIC_ROOT": str(tmp_path / "static"),
        "SQR_STACK_MARKER": marker,
    }


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_runstack_runs_the_whole_stack_and_stops_cleanly(tmp_path):
    marker = uuid.uuid4().hex
    env = _clean_env(tmp_path, marker)
    web, temporal, ui = free_port(), free_port(), free_port()
    command = [sys.executable, "manage.py", "runstack", "--private-redis", "--softhsm", "--port", str(web)]
    command += ["--temporal-port", str(temporal), "--temporal-ui-port", str(ui)]
    stack = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    out = stack.stdout
    assert out is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(out.readline, "")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 180
        while not any("Sequester is running" in line for line in lines):
            assert stack.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.2)
        output = "".join(lines)
        assert f"Web UI       http://localhost:{web}/" in output
        assert f"Temporal UI  http://127.0.0.1:{ui}/" in output
        assert "Demo users created" in output
        assert "commander" in output
        assert "auditor" in output

        status, body = _get(f"http://127.0.0.1:{web}/healthz")
        assert status == 200, body
        status, body = _get(f"http://127.0.0.1:{web}/login/")
        assert status == 200
        css = body.decode().split('href="')[1].split('"')[0]
        assert css.startswith("/static/sequester/app.")
        assert css.endswith(".css")
        assert _get(f"http://127.0.0.1:{web}{css}")[0] == 200
        assert _get(f"http://127.0.0.1:{ui}/")[0] == 200

        probe = subprocess.run(
            [sys.executable, "manage.py", "stack_probe"],
            cwd=ROOT,
            env=env | {"TEMPORAL_ADDRESS": f"127.0.0.1:{temporal}"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert probe.returncode == 0, probe.stderr
        assert "celery    ok" in probe.stdout
        assert "temporal  ok" in probe.stdout

        # The PKCS#11 backend on the SoftHSM2 token that runstack set up, through the real web server.
        token = subprocess.run(
            [sys.executable, "manage.py", "issue_token", "e2e-app"], cwd=ROOT, env=env, capture_output=True, text=True
        ).stdout.strip()
        request = urllib.request.Request(
            f"http://127.0.0.1:{web}/api/v1/keys/",
            data=b'{"alias": "hsm-key", "purpose": "e2e", "backend": "pkcs11"}',
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            created = json.loads(response.read())
        assert created["backend"] == "pkcs11"
        assert created["state"] == "active"

        processes = pids_with_env(marker)
        assert len(processes) >= 7  # supervisor, redis, temporal, worker, celery (+pool), beat, web (+workers)
    except BaseException:
        print("".join(lines[-120:]))  # the stack's own account, shown with the failure
        raise
    finally:
        stack.send_signal(signal.SIGINT)
        code = stack.wait(timeout=90)
        reader.join(5)
    assert code == 0, "".join(lines[-40:])
    assert wait_gone(marker, 20) == []

    again = subprocess.run(
        [sys.executable, "manage.py", "seed_demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert "already exist" in again.stdout  # a second run reuses the data and shows no password
