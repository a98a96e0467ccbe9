"""The supervisor starts children in order, waits for readiness, and leaves no process behind."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import pytest

from tests.processes import pids_with_env, wait_gone
from tests.servers import ROOT
from webapp.stack.supervisor import ProcessSpec, Supervisor

# A child that starts a grandchild and both sleep: stopping must reach the grandchild too.
PARENT_AND_GRANDCHILD = [
    sys.executable,
    "-c",
    "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
    "print('up', flush=True); time.sleep(600)",
]


@pytest.fixture
def marker(monkeypatch):
    value = f"SQR_TEST_MARKER={uuid.uuid4().hex}"
    name, _, token = value.partition("=")
    monkeypatch.setenv(name, token)
    yield token
    for pid in pids_with_env(token):
        os.kill(pid, signal.SIGKILL)


def test_stop_all_reaches_grandchildren(marker):
    out = io.StringIO()
    supervisor = Supervisor(out=out)
    supervisor.start(ProcessSpec("one", PARENT_AND_GRANDCHILD))
    supervisor.start(ProcessSpec("two", PARENT_AND_GRANDCHILD))
    time.sleep(0.5)
    assert len(pids_with_env(marker)) == 4
    supervisor.stop_all()
    assert wait_gone(marker, 5) == []
    assert "one      | up" in out.getvalue()


def test_a_child_that_dies_stops_the_stack(marker):
    supervisor = Supervisor(out=io.StringIO())
    specs = [
        ProcessSpec("stays", PARENT_AND_GRANDCHILD),
        ProcessSpec("dies", [sys.executable, "-c", "import time; time.sleep(0.5); raise SystemExit(3)"]),
    ]
    assert supervisor.run(specs) == 1
    assert wait_gone(marker, 5) == []


def test_a_child_that_is_never_ready_fails_the_start(marker):
    out = io.StringIO()
    supervisor = Supervisor(out=out)
    spec = ProcessSpec("slow", PARENT_AND_GRANDCHILD, ready=lambda: False, ready_timeout=0.5)
    assert supervisor.run([spec]) == 1
    assert "slow was not ready within" in out.getvalue()
    assert wait_gone(marker, 5) == []


def test_a_stop_request_ends_run_cleanly(marker):
    supervisor = Supervisor(out=io.StringIO())
    threading.Timer(1.0, supervisor.request_stop).start()
    assert supervisor.run([ProcessSpec("a", PARENT_AND_GRANDCHILD)]) == 0
    assert wait_gone(marker, 5) == []


# Like gunicorn or Celery: on SIGTERM the child ends its own children (its process group).
FORWARDING_PARENT = [
    sys.executable,
    "-c",
    "import os, signal, subprocess, sys, time; "
    "signal.signal(signal.SIGTERM, lambda *_: os.killpg(0, signal.SIGKILL)); "
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
    "print('up', flush=True); time.sleep(600)",
]


def test_a_killed_supervisor_leaves_no_orphans(marker):
    """SIGKILL cannot be handled; the parent-death signal (setpriv) still ends the children."""
    script = textwrap.dedent(
        f"""
        from webapp.stack.supervisor import ProcessSpec, Supervisor
        s = Supervisor()
        s.run([ProcessSpec("a", {FORWARDING_PARENT!r})], on_ready=lambda: print("ready", flush=True))
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    while "ready" not in process.stdout.readline():
        pass
    time.sleep(0.5)
    assert len(pids_with_env(marker)) == 3  # supervisor, child, grandchild
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert wait_gone(marker, 10) == []
