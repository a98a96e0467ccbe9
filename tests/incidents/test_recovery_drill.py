"""The recovery drill: mid-incident (the rewrap under way) the Temporal worker, the Temporal server and the
Celery worker are killed (SIGKILL) and the database is cut off from them for DRILL_BLOCK_SECONDS (three
minutes by default: every connection through a proxy cut, new ones dropped, as in a failover). Everything
is restarted while the database is still away; nobody presses Retry. The incident must reach its close
step by itself, with no side effect twice: one replacement key, each item rewrapped (decrypted for the
rewrap) exactly once, one decrypt grant, each key marked compromised once.

``SEQUESTER_DRILL_BLOCK_SECONDS`` shortens or lengthens the outage; the timings are printed (-s)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.test import override_settings

from audit.models import AuditEvent
from incidents.cloudevents import parse
from incidents.models import Incident, RewrapProgress
from incidents.services.signals import signal_receive
from ir_workflows.tasks import sweep_outbox
from keyvault.models import DecryptGrant, ManagedKey, WrappedItem
from tests.approvals.conftest import decide
from tests.db_proxy import BlockableProxy
from tests.incidents.conftest import cloudevent
from tests.incidents.test_playbook_e2e import _approval, _estate
from tests.keyvault.conftest import SYSTEM
from tests.servers import ROOT, free_port, wait_until, worker_database_url
from webapp import roles
from webapp.stack.processes import port_open, temporal_cli

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
ITEMS = 300
BLOCK_SECONDS = float(os.environ.get("SEQUESTER_DRILL_BLOCK_SECONDS", "180"))


class Processes:
    """The drill's servers: a Temporal dev server on a file (it survives a kill), a worker and a Celery
    worker whose database connections go through the proxy."""

    def __init__(self, proxy: BlockableProxy, directory: Path) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.task_queue = f"drill-{uuid.uuid4().hex[:8]}"
        self.database = worker_database_url().replace(
            f"@{connection.settings_dict['HOST'] or '127.0.0.1'}:{connection.settings_dict['PORT'] or 5432}/",
            f"@127.0.0.1:{proxy.port}/",
        )
        assert f":{proxy.port}/" in self.database
        self.db_file = directory / "temporal.sqlite"
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.log = directory

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "webapp.settings.test",
            "DATABASE_URL": self.database,
            "TEMPORAL_ADDRESS": self.address,
            "TEMPORAL_TASK_QUEUE": self.task_queue,
            "SEQUESTER_REWRAP_BATCH_SIZE": "10",
            "SEQUESTER_REWRAP_PAUSE_MS": "60",
            "SEQUESTER_REWRAP_HEARTBEAT_SECONDS": "2",
            "PYTHONUNBUFFERED": "1",
        }

    def _spawn(self, name: str, command: list[str]) -> None:
        out = (self.log / f"{name}.log").open("ab")
        self.running[name] = subprocess.Popen(
            command, cwd=ROOT, env=self._env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def start_temporal(self) -> None:
        command = [temporal_cli(), "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(self.port)]
        command += ["--http-port", str(free_port()), "--metrics-port", str(free_port()), "--log-level", "error"]
        command += ["--db-filename", str(self.db_file)]
        self._spawn("temporal", command)
        wait_until(
            lambda: port_open("127.0.0.1", self.port), timeout=60, what="Temporal", process=self.running["temporal"]
        )

    def start_worker(self) -> None:
        self._spawn("worker", [sys.executable, "manage.py", "run_worker", "--connect-timeout", "300"])

    def start_celery(self) -> None:
        command = [sys.executable, "-m", "celery", "--app", "webapp", "worker", "--pool", "solo"]
        command += ["--hostname", f"drill-{uuid.uuid4().hex[:6]}@localhost", "--loglevel", "WARNING"]
        self._spawn("celery", [*command, "--without-mingle", "--without-gossip"])

    def kill(self, name: str) -> None:
        process = self.running.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop_all(self) -> None:
        for name in list(self.running):
            self.kill(name)


@pytest.fixture
def drill() -> Iterator[tuple[BlockableProxy, Processes]]:
    host = connection.settings_dict["HOST"] or "127.0.0.1"
    proxy = BlockableProxy(host, int(connection.settings_dict["PORT"] or 5432))
    with tempfile.TemporaryDirectory(prefix="sqr-drill-") as directory:
        processes = Processes(proxy, Path(directory))
        try:
            yield proxy, processes
        finally:
            processes.stop_all()
            proxy.close()


def _progress(reference: str) -> tuple[int, int]:
    row = RewrapProgress.objects.filter(incident__reference=reference).first()
    return (row.done, row.total) if row else (0, 0)


def _sweeping(until, *, timeout: float, what: str) -> None:
    """Wait, sending the outbox sweep to Celery every 10 s as beat does (every 30 s in production)."""
    deadline = time.monotonic() + timeout
    last = 0.0
    while not until():
        if time.monotonic() - last > 10:
            sweep_outbox.delay()
            last = time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(0.5)


def test_kill_everything_and_cut_the_database_mid_incident(drill, people, authenticators, app, capsys):
    proxy, processes = drill
    timings: dict[str, float] = {}
    kek, _, _ = _estate(app, items=ITEMS)
    processes.start_temporal()
    processes.start_worker()
    processes.start_celery()
    with override_settings(TEMPORAL_ADDRESS=processes.address, TEMPORAL_TASK_QUEUE=processes.task_queue):
        reference = signal_receive(
            event=parse(cloudevent({"id": str(kek.id)})), via="api", actor=SYSTEM
        ).incident.reference
        _sweeping(lambda: _approval(reference, "confirm_compromise") is not None, timeout=180, what="confirmation")
        confirm = _approval(reference, "confirm_compromise")
        assert confirm is not None
        decide(people[roles.SECURITY_LEAD], confirm, authenticator=authenticators[roles.SECURITY_LEAD])
        decide(people[roles.KEY_CUSTODIAN], confirm, authenticator=authenticators[roles.KEY_CUSTODIAN])
        _sweeping(lambda: 20 <= _progress(reference)[0] < ITEMS - 100, timeout=300, what="the rewrap under way")

        # The incident is mid-rewrap: kill everything, cut the database.
        at_kill = _progress(reference)[0]
        started = time.monotonic()
        for name in ("worker", "temporal", "celery"):
            processes.kill(name)
        proxy.block()
        processes.start_temporal()  # restarted while the database is still away
        processes.start_worker()
        processes.start_celery()
        while time.monotonic() - started < BLOCK_SECONDS:
            assert _progress(reference)[0] <= at_kill + 10  # nothing moves without the database (one batch in flight)
            time.sleep(1)
        proxy.unblock()
        timings["outage_seconds"] = time.monotonic() - started
        _sweeping(
            lambda: Incident.objects.get(reference=reference).step == "close",
            timeout=900,
            what=f"the close step (progress {_progress(reference)})",
        )
        timings["back_to_close_after_unblock_seconds"] = time.monotonic() - started - timings["outage_seconds"]

    incident = Incident.objects.get(reference=reference)
    kek.refresh_from_db()
    assert ManagedKey.objects.filter(alias="platform-kek", state="active").count() == 1  # one replacement
    assert _progress(reference) == (ITEMS, ITEMS)
    assert set(WrappedItem.objects.values_list("key_id", flat=True)) == {kek.replaced_by_id}
    batches = AuditEvent.objects.filter(action="key.rewrap_decrypt_batch", subject_id=str(kek.id))
    assert sum(event.data["count"] for event in batches) == ITEMS  # each item decrypted for rewrap exactly once
    assert DecryptGrant.objects.filter(key=kek, principal__startswith="job:").count() == 1
    compromised = AuditEvent.objects.filter(action="key.compromised", incident=reference)
    subjects = list(compromised.values_list("subject_id", flat=True))
    assert subjects
    assert len(subjects) == len(set(subjects))  # each key marked compromised once
    with capsys.disabled():
        print(
            f"\nrecovery drill: killed at {at_kill}/{ITEMS} items, database cut {timings['outage_seconds']:.0f} s, "
            f"close step {timings['back_to_close_after_unblock_seconds']:.0f} s after it came back; "
            f"attention: {incident.attention!r}"
        )
