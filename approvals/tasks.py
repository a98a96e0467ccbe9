"""Celery tasks of approvals (web tier): the opening email."""

from __future__ import annotations

import smtplib

from celery import shared_task

from approvals.services.notify import OPENED, approval_notice_send


@shared_task(
    name="approvals.notify_request_opened",
    autoretry_for=(smtplib.SMTPException, ConnectionError, OSError),
    retry_backoff=True,
    max_retries=8,
)
def notify_request_opened(request_id: str) -> int:
    return approval_notice_send(request_id=request_id, kind=OPENED)
