"""Pages never wait on health probes: the home page shows the background refresher's latest snapshot
(with Temporal hanging it still answers at once); /healthz keeps probing live."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from django.test import override_settings
from django.urls import reverse

from webapp import health

pytestmark = pytest.mark.django_db


def _hung(timeout: float) -> str:
    """Temporal not answering: the probe waits out its whole budget, then fails."""
    time.sleep(timeout)
    raise TimeoutError("Temporal did not answer")


def _up(timeout: float) -> str:
    return "fake: answers"


@pytest.fixture
def snapshots(monkeypatch: pytest.MonkeyPatch) -> Iterator[health._Snapshots]:
    fresh = health._Snapshots()
    monkeypatch.setattr(health, "_snapshots", fresh)
    yield fresh
    fresh.stop()


def _checks(monkeypatch: pytest.MonkeyPatch, **overrides: Callable[[float], str]) -> None:
    for name in health.CHECKS:
        monkeypatch.setitem(health.CHECKS, name, overrides.get(name, _up))


def test_home_answers_at_once_while_temporal_hangs(client, commander, snapshots, monkeypatch):
    _checks(monkeypatch, temporal=_hung, temporal_worker=_hung)
    client.force_login(commander)
    client.get(reverse("home"))  # warm: templates, permissions

    started = time.perf_counter()
    response = client.get(reverse("home"))
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert elapsed < 0.5, f"the home page took {elapsed:.2f} s: it waited on a probe"
    assert "not checked yet" in response.content.decode()  # unknown is never shown as up

    health.health_refresh(timeout=0.3)  # what the refresher does in the background
    started = time.perf_counter()
    html = client.get(reverse("home")).content.decode()
    assert time.perf_counter() - started < 0.5
    assert "down: temporal, temporal_worker" in html
    assert "checked" in html


def test_healthz_still_probes_live(client, snapshots, monkeypatch):
    _checks(monkeypatch, temporal=_hung)
    with override_settings(SEQUESTER_HEALTH_TIMEOUT_SECONDS=0.2):
        response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["down"] == ["temporal"]


def test_the_refresher_thread_keeps_the_snapshot(client, snapshots, monkeypatch):
    _checks(monkeypatch)
    with override_settings(SEQUESTER_HEALTH_REFRESH_SECONDS=60):
        health.health_snapshot()  # the first read starts the refresher (and does not wait for it)
        deadline = time.monotonic() + 10
        while not health.health_snapshot().known and time.monotonic() < deadline:
            snapshots.stopping.wait(0.05)
    latest = health.health_snapshot()
    assert latest.known
    assert latest.ok
    assert latest.checked_at is not None
    assert snapshots.thread is not None
    assert snapshots.thread.is_alive()
