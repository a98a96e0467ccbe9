"""Celery tasks of the web tier. Thin: they call a service and retry on transient failures."""

from __future__ import annotations

import socket

from celery import shared_task

from webapp.services.stack_probes import stack_probe_record
from webapp.services.staff_mail import staff_mail_retry_due


@shared_task(name="webapp.record_stack_probe", autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def record_stack_probe(probe_id: str) -> int:
    probe = stack_probe_record(probe_id=probe_id, via="celery", worker=socket.gethostname())
    return probe.pk


@shared_task(name="webapp.retry_staff_mail")
def retry_staff_mail() -> int:
    """Another attempt for every alert mail whose backoff is over (periodic)."""
    return staff_mail_retry_due()
