"""Hole 10: rewrap could silently lose an item.

The attack (issue 11): ``rewrap_batch`` skipped rows another transaction held (``skip_locked``),
reported ``done < total``, and the incident went on; closing with ``destroy`` then destroyed the only
key that could read that item. Wanted: skipped rows are retried, an incomplete rewrap flags the
commander, and destruction is refused while any item under the key is not rewrapped.
"""

from __future__ import annotations

import threading
import time
from uuid import UUID

import pytest
from django.db import connection, transaction
from temporalio import activity
from temporalio.testing import ActivityEnvironment

from approvals import policies
from incidents.services import playbook
from ir_workflows.incident import activities
from ir_workflows.incident import types as t
from ir_workflows.incident.workflows import KeyCompromiseIncidentWorkflow
from keyvault.models import ManagedKey, WrappedItem
from keyvault.services import lifecycle
from tests.incidents.conftest import cloudevent, post_signal
from tests.ir_workflows.test_incident_workflow import (
    Fakes,
    _advance,
    _decide,
    _pending,
    _run,
    _wait_attention,
    _wait_step,
)
from tests.keyvault.conftest import SYSTEM
from tests.security.helpers import create_key, post

ITEMS = 6


def _estate(custodian, application, detector, commander) -> tuple[dict[str, str], str, str]:
    """A key whose application registered wrapped data keys, contained by a signal, confirmed
    compromised, with the playbook's rewrap plan (replacement, job grant, progress row) made."""
    key = create_key(custodian, "payments")
    items = []
    for index in range(ITEMS):
        data_key = post(application, f"/api/v1/keys/{key['id']}/data-key", {}).json()
        items.append({"reference": f"row-{index}", "ciphertext_b64": data_key["wrapped_b64"]})
    assert post(application, f"/api/v1/keys/{key['id']}/wrapped-items", {"items": items}).status_code == 201
    reference = post_signal(detector, cloudevent({"id": key["id"]}, title="leak")).json()["incident"]
    assert post(commander, f"/api/v1/keys/{key['id']}/compromise", {"reason": "confirmed"}).status_code == 200
    (target,) = playbook.incident_rewrap_plan(reference=reference)
    return key, reference, target.replacement


def _rewrap_activity(target: t.RewrapTarget) -> t.RewrapResult:
    """The real rewrap activity in an activity context, without its connection recycling (the test's
    transaction holds the connection)."""
    result: t.RewrapResult = ActivityEnvironment().run(activities.rewrap_key_data.__wrapped__, target)  # type: ignore[attr-defined]
    return result


def _rewrap_target(reference: str, key_id: str, replacement: str) -> t.RewrapTarget:
    return t.RewrapTarget(reference, key_id, replacement, ITEMS, batch_size=2, heartbeat_seconds=30, pause_ms=0)


@pytest.mark.django_db
def test_destruction_is_refused_while_an_item_is_not_rewrapped(custodian, application, detector, commander):
    key, reference, replacement = _estate(custodian, application, detector, commander)
    # One batch ran, the rest did not (rows held elsewhere, a worker lost): items are still under the key.
    assert (
        playbook.rewrap_batch(
            reference=reference, key_id=key["id"], replacement_id=replacement, after_id=0, batch_size=2
        )[0]
        == 2
    )
    assert WrappedItem.objects.filter(key__id=key["id"]).count() == ITEMS - 2

    # The attack's last step: close with "destroy". The destruction request cannot even be opened ...
    response = post(
        commander,
        "/api/v1/approvals/",
        {"action": policies.KEY_DESTRUCTION, "reason": "close", "incident": reference, "payload": {"key": key["id"]}},
    )
    assert response.status_code == 409, "destruction requested while items are not rewrapped"
    assert response.json()["code"] == "rewrap_incomplete"
    assert response.json()["remaining"] == ITEMS - 2
    # ... and the playbook's destroy step (approved or not) is refused by the lifecycle itself.
    with pytest.raises(Exception, match="not rewrapped") as refused:
        playbook.incident_destroy_keys(reference=reference)
    assert getattr(refused.value, "code", "") == "rewrap_incomplete"
    assert ManagedKey.objects.get(id=key["id"]).state == "compromised"
    assert ManagedKey.objects.get(id=key["id"]).versions.get().destroyed_at is None

    # Once every item is under the replacement, destruction may proceed.
    activity_result = _rewrap_activity(_rewrap_target(reference, key["id"], replacement))
    assert (activity_result.done, activity_result.remaining) == (ITEMS, 0)
    assert not WrappedItem.objects.filter(key__id=key["id"]).exists()
    lifecycle.key_destroy(key_id=UUID(key["id"]), actor=SYSTEM, reason="closed", incident=reference)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks (skip_locked) are PostgreSQL's; CI runs it")
def test_rows_held_by_another_transaction_are_retried_not_lost(
    custodian, application, detector, commander, monkeypatch
):
    monkeypatch.setattr(activities, "REWRAP_PASS_PAUSE_SECONDS", 0.2)
    key, reference, replacement = _estate(custodian, application, detector, commander)
    held = WrappedItem.objects.filter(key__id=key["id"]).order_by("id")[2]

    def holding(release_after: float | None) -> threading.Thread:
        """Another transaction holds ``held`` (e.g. the application re-registering that row)."""
        locked, release = threading.Event(), threading.Event()

        def hold() -> None:
            try:
                with transaction.atomic():
                    WrappedItem.objects.select_for_update().get(id=held.id)
                    locked.set()
                    release.wait(10)
            finally:
                connection.close()

        thread = threading.Thread(target=hold)
        thread.start()
        assert locked.wait(10)
        thread.release = release  # type: ignore[attr-defined]
        if release_after is not None:
            threading.Timer(release_after, release.set).start()
        return thread

    # Held through every pass: reported as remaining, not lost, and the key cannot be destroyed.
    monkeypatch.setattr(activities, "REWRAP_PASSES", 2)
    holder = holding(None)
    result = _rewrap_activity(_rewrap_target(reference, key["id"], replacement))
    holder.release.set()  # type: ignore[attr-defined]
    holder.join(10)
    assert (result.done, result.total, result.remaining) == (ITEMS - 1, ITEMS, 1)
    with pytest.raises(Exception, match="not rewrapped"):
        lifecycle.key_destroy(key_id=UUID(key["id"]), actor=SYSTEM, reason="close", incident=reference)

    # Held, then freed while the activity makes its further passes: retried, nothing left behind.
    monkeypatch.setattr(activities, "REWRAP_PASSES", 5)
    holder = holding(0.3)
    started = time.monotonic()
    result = _rewrap_activity(_rewrap_target(reference, key["id"], replacement))
    holder.join(10)
    assert time.monotonic() - started >= 0.3
    assert (result.done, result.total, result.remaining) == (ITEMS, ITEMS, 0)
    assert not WrappedItem.objects.filter(key__id=key["id"]).exists()


class _IncompleteRewrap(Fakes):
    """The rewrap activity reports an item still under the key, then (after the retry) none."""

    def __init__(self) -> None:
        super().__init__()
        self.rewrap_runs = 0

    def activities(self) -> list[object]:
        fakes = self

        @activity.defn(name=t.REWRAP_ACTIVITY)
        async def rewrap(target: t.RewrapTarget) -> t.RewrapResult:
            fakes.rewrap_runs += 1
            if fakes.rewrap_runs == 1:
                return t.RewrapResult(target.key, target.total - 1, target.total, remaining=1)
            return t.RewrapResult(target.key, target.total, target.total, remaining=0)

        return [a for a in super().activities() if getattr(a, "__name__", "") != "rewrap"] + [rewrap]


async def test_an_incomplete_rewrap_flags_the_commander_and_holds_the_incident(time_skipping_env):
    fakes = _IncompleteRewrap()
    worker, start = await _run(time_skipping_env, fakes)
    async with worker:
        handle = await start
        await _decide(handle, await _pending(handle, "confirm_compromise"))
        status = await _wait_attention(handle)
        assert "rewrap of key k1 is incomplete: 99 of 100" in status.attention
        assert "cannot be destroyed" in status.attention
        assert status.step == "rewrap"  # the incident does not go on to notify and close
        assert [(k.rewrapped, k.to_rewrap) for k in status.keys if k.key == "k1"] == [(99, 100)]
        await _advance(handle, "retry")  # the commander retries once the rows are free
        await _wait_step(handle, "close")
        status = await handle.query(KeyCompromiseIncidentWorkflow.status)
        assert [(k.rewrapped, k.to_rewrap) for k in status.keys if k.key == "k1"] == [(100, 100)]
    assert fakes.rewrap_runs == 2
