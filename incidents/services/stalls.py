"""Reporting a stalled playbook step without the database.

A step that keeps failing because the database is away (a failover) cannot tell the commander the usual
way (``incident_attention`` writes the incident, the timeline and reads the commander's address). This
path needs none of that: an error log line (always), a Redis key per stalled incident that on-call tools
and the health check can read (``sequester:stall:<reference>``, removed when the step resumes), and a
mail to the on-call list of the settings (``SEQUESTER_STALL_ALERT_EMAILS``). Once the step resumes, the
workflow reports it here again and, the database being back, on the incident's timeline as well.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis
import structlog
from django.conf import settings
from django.core.mail import send_mail

log = structlog.get_logger(__name__)

STALL_KEY_PREFIX = "sequester:stall:"
STALL_KEY_TTL_SECONDS = 7 * 24 * 3600
REDIS_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class StallReport:
    reference: str
    step: str
    message: str
    since: str  # ISO 8601, when the step started failing
    resumed: bool = False


def _redis() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
    )


def stall_key(reference: str) -> str:
    return f"{STALL_KEY_PREFIX}{reference}"


def incident_stall_report(*, report: StallReport) -> list[str]:
    """Report (or clear) a stall on every channel that does not need the database; returns the channels
    that took it (the log always does)."""
    event = "incident.step_resumed" if report.resumed else "incident.step_stalled"
    log.error(event, incident=report.reference, step=report.step, since=report.since, detail=report.message)
    reached = ["log"]
    try:
        client = _redis()
        if report.resumed:
            client.delete(stall_key(report.reference))
        else:
            value = json.dumps({"step": report.step, "since": report.since, "message": report.message})
            client.set(stall_key(report.reference), value, ex=STALL_KEY_TTL_SECONDS)
        reached.append("redis")
    except redis.RedisError as exc:
        log.warning("incident.stall_redis_failed", incident=report.reference, error=type(exc).__name__)
    recipients = list(settings.SEQUESTER_STALL_ALERT_EMAILS)
    if recipients:
        subject = (
            f"[Sequester] {report.reference}: step {report.step} resumed"
            if report.resumed
            else f"[Sequester] {report.reference}: step {report.step} stalled (retrying by itself)"
        )
        body = f"{report.message}\n\nFailing since {report.since}.\n"
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
            reached.append("mail")
        except OSError as exc:
            log.warning("incident.stall_mail_failed", incident=report.reference, error=type(exc).__name__)
    return reached


def stalls_active() -> dict[str, dict[str, str]]:
    """The stalls reported and not resumed yet, from Redis (no database): reference → step, since, message."""
    client = _redis()
    stalls: dict[str, dict[str, str]] = {}
    for key in client.scan_iter(match=f"{STALL_KEY_PREFIX}*"):
        raw = client.get(key)
        if raw is not None:
            name = key.decode() if isinstance(key, bytes) else str(key)
            stalls[name.removeprefix(STALL_KEY_PREFIX)] = json.loads(raw)
    return stalls
