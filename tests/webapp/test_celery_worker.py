"""A Celery task executed by a real worker process over Redis, writing to the database."""

from __future__ import annotations

import uuid

import pytest

from tests.servers import celery_worker_process
from webapp.models import StackProbe
from webapp.tasks import record_stack_probe

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_real_worker_runs_the_task_and_writes_the_row():
    probe_id = uuid.uuid4().hex
    with celery_worker_process() as hostname:
        row_id = record_stack_probe.delay(probe_id).get(timeout=60)
    probe = StackProbe.objects.get(pk=row_id)
    assert probe.probe_id == probe_id
    assert probe.via == "celery"
    assert hostname  # the worker that answered the ping is the one that ran it (the only one on this queue)


def test_the_task_is_idempotent_per_probe(db):
    first = record_stack_probe.run("same")
    second = record_stack_probe.run("same")
    assert first == second
    assert StackProbe.objects.filter(probe_id="same").count() == 1
