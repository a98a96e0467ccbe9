"""The worker killed with SIGKILL mid-rewrap: another worker finishes the incident, and no side effect
happens twice (each item rewrapped once, one replacement key, one grant)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from django.test import override_settings

from audit.models import AuditEvent
from incidents.cloudevents import parse
from incidents.models import Incident, RewrapProgress
from incidents.services.signals import signal_receive
from keyvault.models import DecryptGrant, ManagedKey, WrappedItem
from tests.approvals.conftest import decide
from tests.incidents.conftest import cloudevent
from tests.incidents.test_playbook_e2e import _approval, _estate
from tests.keyvault.conftest import SYSTEM
from tests.servers import ROOT, stop, wait_until, worker_database_url
from tests.temporal_helpers import pump_until
from webapp import roles

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
ITEMS = 300


def _worker(address: str, task_queue: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "webapp.settings.test",
        "DATABASE_URL": worker_database_url(),
        "TEMPORAL_ADDRESS": address,
        "TEMPORAL_TASK_QUEUE": task_queue,
        "SEQUESTER_REWRAP_BATCH_SIZE": "10",
        "SEQUESTER_REWRAP_PAUSE_MS": "60",
        "SEQUESTER_REWRAP_HEARTBEAT_SECONDS": "2",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )


def _progress(reference: str) -> tuple[int, int]:
    row = RewrapProgress.objects.filter(incident__reference=reference).first()
    return (row.done, row.total) if row else (0, 0)


def test_sigkill_mid_rewrap(temporal_address, people, authenticators, app):

    task_queue = f"killed-{uuid.uuid4().hex[:8]}"
    kek, _, _ = _estate(app, items=ITEMS)
    first = _worker(temporal_address, task_queue)
    second = None
    try:
        with override_settings(TEMPORAL_ADDRESS=temporal_address, TEMPORAL_TASK_QUEUE=task_queue):
            reference = signal_receive(
                event=parse(cloudevent({"id": str(kek.id)})), via="api", actor=SYSTEM
            ).incident.reference
            pump_until(lambda: _approval(reference, "confirm_compromise") is not None, what="confirmation")
            confirm = _approval(reference, "confirm_compromise")
            assert confirm is not None
            decide(people[roles.SECURITY_LEAD], confirm, authenticator=authenticators[roles.SECURITY_LEAD])
            decide(people[roles.KEY_CUSTODIAN], confirm, authenticator=authenticators[roles.KEY_CUSTODIAN])
            pump_until(
                lambda: 20 <= _progress(reference)[0] < ITEMS - 50,
                timeout=120,
                what=lambda: (
                    f"the rewrap under way ({_progress(reference)}, {Incident.objects.get(reference=reference).step}, "
                    f"{Incident.objects.get(reference=reference).attention})"
                ),
            )
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(10)
            killed_at = _progress(reference)[0]
            assert killed_at < ITEMS
            time.sleep(1)
            assert _progress(reference)[0] == killed_at  # nothing moves without a worker
            second = _worker(temporal_address, task_queue)
            wait_until(
                lambda: Incident.objects.get(reference=reference).step == "close", timeout=120, what="the close step"
            )
    finally:
        os.killpg(first.pid, signal.SIGKILL) if first.poll() is None else None
        if second is not None:
            stop(second)

    kek.refresh_from_db()
    assert ManagedKey.objects.filter(alias="platform-kek", state="active").count() == 1  # one replacement
    assert _progress(reference) == (ITEMS, ITEMS)
    assert set(WrappedItem.objects.values_list("key_id", flat=True)) == {kek.replaced_by_id}
    batches = AuditEvent.objects.filter(action="key.rewrap_decrypt_batch", subject_id=str(kek.id))
    assert sum(event.data["count"] for event in batches) == ITEMS  # each item decrypted for rewrap exactly once
    assert DecryptGrant.objects.filter(key=kek, principal__startswith="job:").count() == 1
