"""The refusal ledger: bounded per minute, nothing lost while the database fails, everything written at exit."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from audit.actors import Actor
from audit.models import AuditEvent
from keyvault.refusals import ACTION, Refusal, RefusalLedger

pytestmark = pytest.mark.django_db
APP = Actor(name="billing-app", type="service")
SUSPENDED = Refusal("k1", "encrypt", "segregated", "404 key_not_found", "suspended")


@pytest.fixture
def clock(monkeypatch):
    now = [datetime(2026, 12, 1, 10, 0, 5, tzinfo=timezone.get_current_timezone())]
    monkeypatch.setattr("keyvault.refusals._now", lambda: now[0])
    return now


def _events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=ACTION).order_by("seq"))


def test_first_at_once_then_one_count_per_minute(clock):
    ledger = RefusalLedger()
    for _ in range(5):
        ledger.record(SUSPENDED, actor=APP, items=2)
    assert _events() == []  # recording does no I/O
    assert ledger.flush() == 1
    assert ledger.flush() == 0  # nothing new until the minute is over
    clock[0] += timedelta(seconds=60)
    ledger.record(SUSPENDED, actor=APP)  # a new minute: a new first
    assert ledger.flush() == 2
    first, counted, next_first = _events()
    assert (first.data["count"], first.data["items"], first.data["first"]) == (1, 2, True)
    assert (counted.data["count"], counted.data["items"], counted.data["first"]) == (4, 8, False)
    assert next_first.data["window_start"] != first.data["window_start"]
    assert ledger.pending() == 0


def test_a_failing_database_loses_nothing(clock, monkeypatch):
    ledger = RefusalLedger()
    for _ in range(3):
        ledger.record(SUSPENDED, actor=APP)

    def down(**kwargs: object) -> None:
        raise RuntimeError("database unreachable")

    monkeypatch.setattr("audit.services.audit_record", down)
    clock[0] += timedelta(seconds=60)
    assert ledger.flush() == 0
    assert ledger.pending() == 3
    monkeypatch.undo()
    monkeypatch.setattr("keyvault.refusals._now", lambda: clock[0])
    assert ledger.flush() == 2
    assert [(e.data["count"], e.data["first"]) for e in _events()] == [(1, True), (2, False)]


def test_exit_writes_the_current_minute_too(clock):
    ledger = RefusalLedger()
    for _ in range(4):
        ledger.record(SUSPENDED, actor=APP)
    ledger.flush()
    assert ledger.flush(everything=True) == 1
    assert [e.data["count"] for e in _events()] == [1, 3]
