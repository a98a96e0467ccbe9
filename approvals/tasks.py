"""Celery tasks of approvals (web tier): the opening email, the notice of a changed factor."""

from __future__ import annotations

import smtplib

from celery import shared_task

from approvals.services.notify import OPENED, approval_notice_send, factor_notice_send


@shared_task(
    name="approvals.notify_request_opened",
    autoretry_for=(smtplib.SMTPException, ConnectionError, OSError),
    retry_backoff=True,
    max_retries=8,
)
def notify_request_opened(request_id: str) -> int:
    return approval_notice_send(request_id=request_id, kind=OPENED)


@shared_task(
    name="approvals.notify_factor_change",
    autoretry_for=(smtplib.SMTPException, ConnectionError, OSError),
    retry_backoff=True,
    max_retries=8,
)
def notify_factor_change(user_id: int, what: str, source_ip: str) -> int:
    return factor_notice_send(user_id=user_id, what=what, source_ip=source_ip)
