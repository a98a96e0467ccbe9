"""Celery tasks of incidents (web tier): mail about who commands an incident."""

from __future__ import annotations

import smtplib

from celery import shared_task

from incidents.services.ownership import ownership_notice_send


@shared_task(
    name="incidents.notify_ownership",
    autoretry_for=(smtplib.SMTPException, ConnectionError, OSError),
    retry_backoff=True,
    max_retries=8,
)
def notify_ownership(reference: str, notice: str, username: str = "") -> int:
    return ownership_notice_send(reference=reference, notice=notice, username=username)
