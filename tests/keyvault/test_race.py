"""On PostgreSQL, an encrypt racing a suspend never succeeds after the suspend commits."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from keyvault.errors import KeyNotFound, KeyNotUsableForEncryption
from keyvault.services import gate, lifecycle
from keyvault.states import KeyState
from tests.keyvault.conftest import AAD, SYSTEM, make_key

# An application is refused a suspended key as a missing one (segregation); incident response sees why.
REFUSED = (KeyNotUsableForEncryption, KeyNotFound)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's; CI runs it"),
]


def _in_thread(target):
    def run():
        try:
            target()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_an_encrypt_waits_for_a_committing_suspend_and_is_refused(app):
    key, _ = make_key("local", KeyState.ACTIVE)
    locked, release = threading.Event(), threading.Event()

    def suspend():
        with transaction.atomic():
            lifecycle.key_suspend(key_ids=[key.id], actor=SYSTEM, reason="leak")
            locked.set()
            release.wait(10)

    suspender = _in_thread(suspend)
    assert locked.wait(10)
    outcome: list[object] = []

    def encrypt():
        try:
            outcome.append(gate.gate_encrypt(key_id=key.id, items=[gate.EncryptItem(b"x")], principal=app))
        except REFUSED as exc:
            outcome.append(exc)

    encryptor = _in_thread(encrypt)
    time.sleep(0.3)
    assert outcome == []  # blocked behind the suspension's row lock
    release.set()
    suspender.join(10)
    encryptor.join(10)
    assert len(outcome) == 1
    assert isinstance(outcome[0], REFUSED)


def test_no_encrypt_started_after_the_suspend_commit_succeeds(app):
    key, _ = make_key("local", KeyState.ACTIVE)
    committed_at: list[float] = []
    results: list[tuple[float, bool]] = []
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            started = time.monotonic()
            try:
                gate.gate_encrypt(key_id=key.id, items=[gate.EncryptItem(b"x")], principal=app)
                results.append((started, True))
            except REFUSED:
                results.append((started, False))

    workers = [_in_thread(hammer) for _ in range(4)]
    time.sleep(0.3)
    lifecycle.key_suspend(key_ids=[key.id], actor=SYSTEM, reason="leak")
    committed_at.append(time.monotonic())
    time.sleep(0.3)
    stop.set()
    for worker in workers:
        worker.join(10)
    after = [ok for started, ok in results if started > committed_at[0]]
    assert after, "the race produced no attempt after the commit"
    assert not any(after)
    assert any(ok for _, ok in results)  # and encryption did run before it


def _rewrap_pair(app):
    """An active source with a ciphertext and an active target this process has encrypted under."""
    source, sealed = make_key("local", KeyState.ACTIVE, alias="source", app=app)
    target, _ = make_key("local", KeyState.ACTIVE, alias="target", app=app)
    return source, target, [gate.DecryptItem(sealed, AAD)]


def test_a_rewrap_waits_for_a_committing_suspend_of_its_target_and_is_refused(custodian):
    _, target, items = _rewrap_pair(custodian)
    gate.gate_rewrap(items=items, principal=custodian, target_key_id=target.id)  # the one-check path, warm
    locked, release = threading.Event(), threading.Event()

    def suspend():
        with transaction.atomic():
            lifecycle.key_suspend(key_ids=[target.id], actor=SYSTEM, reason="leak")
            locked.set()
            release.wait(10)

    suspender = _in_thread(suspend)
    assert locked.wait(10)
    outcome: list[object] = []

    def rewrap():
        try:
            outcome.append(gate.gate_rewrap(items=items, principal=custodian, target_key_id=target.id))
        except REFUSED as exc:
            outcome.append(exc)

    rewrapper = _in_thread(rewrap)
    time.sleep(0.3)
    assert outcome == []  # its check waits behind the suspension's row lock
    release.set()
    suspender.join(10)
    rewrapper.join(10)
    assert len(outcome) == 1
    assert isinstance(outcome[0], REFUSED)


def test_no_rewrap_started_after_the_target_suspend_commit_succeeds(custodian):
    _, target, items = _rewrap_pair(custodian)
    committed_at: list[float] = []
    results: list[tuple[float, bool]] = []
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            started = time.monotonic()
            try:
                gate.gate_rewrap(items=items, principal=custodian, target_key_id=target.id)
                results.append((started, True))
            except REFUSED:
                results.append((started, False))

    workers = [_in_thread(hammer) for _ in range(4)]
    time.sleep(0.3)
    lifecycle.key_suspend(key_ids=[target.id], actor=SYSTEM, reason="leak")
    committed_at.append(time.monotonic())
    time.sleep(0.3)
    stop.set()
    for worker in workers:
        worker.join(10)
    after = [ok for started, ok in results if started > committed_at[0]]
    assert after, "the race produced no attempt after the commit"
    assert not any(after)
    assert any(ok for _, ok in results)
