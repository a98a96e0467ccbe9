"""Alert mail to Sequester's own people ("approval needed", "the incident needs you"), delivered for sure
or visibly not: each mail is a row (``StaffMail``), tried at once, then retried with exponential backoff
by the periodic ``webapp.retry_staff_mail`` task until delivered or ``SEQUESTER_STAFF_MAIL_GIVE_UP_HOURS``
have passed. Each recipient is sent separately, so a retry never resends what was delivered, and the
audit says exactly who got it and who did not:

- ``mail.delivered``       every recipient has it (``delivered_to``);
- ``mail.delivery_failed`` the first failed attempt (who got it, who did not, the error; retrying);
- ``mail.not_delivered``   given up (who never got it).

The caller never waits on, nor fails with, the mail server: a failure is recorded, not raised, so the
workflow that asked for the alert goes on at once (and does not write its event again on a retry)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import structlog
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit.actors import Actor
from audit.services import audit_record
from webapp.models import StaffMail

log = structlog.get_logger(__name__)

MAILER = Actor.system("staff-mail")


def retry_delay(attempts: int) -> timedelta:
    """After ``attempts`` failed attempts: 30 s, 1 min, 2 min, … up to ``SEQUESTER_STAFF_MAIL_MAX_BACKOFF_SECONDS``."""
    first = settings.SEQUESTER_STAFF_MAIL_FIRST_RETRY_SECONDS
    return timedelta(seconds=min(first * 2 ** max(attempts - 1, 0), settings.SEQUESTER_STAFF_MAIL_MAX_BACKOFF_SECONDS))


def staff_mail_send(
    *,
    kind: str,
    subject_type: str,
    subject_id: str,
    recipients: Sequence[str],
    subject: str,
    body: str,
    incident: str = "",
) -> StaffMail:
    """Record the mail and try it once now; what is not delivered is retried later (never raised)."""
    mail = staff_mail_record(
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        recipients=recipients,
        subject=subject,
        body=body,
        incident=incident,
    )
    return staff_mail_attempt(mail_id=mail.pk)


def staff_mail_record(
    *,
    kind: str,
    subject_type: str,
    subject_id: str,
    recipients: Sequence[str],
    subject: str,
    body: str,
    incident: str = "",
) -> StaffMail:
    """The mail as owed, in the caller's transaction (tried by ``staff_mail_attempt`` once it commits,
    or by the periodic retry: its first attempt is due at once)."""
    return StaffMail.objects.create(
        kind=kind,
        subject_type=subject_type,
        subject_id=str(subject_id),
        incident=incident,
        recipients=list(dict.fromkeys(recipients)),
        subject=subject[:300],
        body=body,
        created_at=timezone.now(),
        next_attempt_at=timezone.now(),
    )


def staff_mail_attempt(*, mail_id: int, due_only: bool = False) -> StaffMail:
    """One attempt for every recipient still owed the mail; records and audits the outcome. ``due_only``
    (the periodic retry): not before its backoff is over, nor while another attempt is under way."""
    with transaction.atomic():
        mail = StaffMail.objects.select_for_update().get(pk=mail_id)
        if mail.status in (StaffMail.Status.SENT, StaffMail.Status.FAILED):
            return mail
        if due_only and mail.next_attempt_at is not None and mail.next_attempt_at > timezone.now():
            return mail
        pending = mail.undelivered
        mail.attempts += 1
        mail.status = StaffMail.Status.SENDING
        mail.next_attempt_at = timezone.now() + retry_delay(mail.attempts)  # if this attempt dies midway
        mail.save(update_fields=["attempts", "status", "next_attempt_at"])
    delivered, error = [], ""
    for address in pending:
        try:
            send_mail(mail.subject, mail.body, settings.DEFAULT_FROM_EMAIL, [address], fail_silently=False)
        except Exception as exc:  # noqa: BLE001 - any mail failure is recorded and retried, never raised
            error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("staff_mail.not_delivered", mail=mail.pk, kind=mail.kind, error=error)
            break  # the server is down or refusing: the rest waits for the next attempt
        delivered.append(address)
    return _record(mail.pk, delivered, error)


def _record(mail_id: int, delivered: list[str], error: str) -> StaffMail:
    now = timezone.now()
    with transaction.atomic():
        mail = StaffMail.objects.select_for_update().get(pk=mail_id)
        mail.delivered_to = [*mail.delivered_to, *(a for a in delivered if a not in mail.delivered_to)]
        first_failure = bool(error) and not mail.last_error
        if not mail.undelivered:
            mail.status, mail.finished_at, mail.next_attempt_at = StaffMail.Status.SENT, now, None
            action, reason = "mail.delivered", f"{_what(mail)} delivered to every recipient"
        elif now - mail.created_at >= timedelta(hours=settings.SEQUESTER_STAFF_MAIL_GIVE_UP_HOURS):
            mail.status, mail.finished_at, mail.next_attempt_at = StaffMail.Status.FAILED, now, None
            action, reason = "mail.not_delivered", f"{_what(mail)} not delivered after {mail.attempts} attempts"
        else:
            mail.status = StaffMail.Status.FAILING
            mail.next_attempt_at = now + retry_delay(mail.attempts)
            action = "mail.delivery_failed" if first_failure else ""
            reason = f"{_what(mail)} not delivered yet; retried with backoff"
        if error:
            mail.last_error = error
        mail.save()
        if action:
            audit_record(
                action=action,
                actor=MAILER,
                subject_type=mail.subject_type,
                subject_id=mail.subject_id,
                reason=reason,
                incident=mail.incident,
                data={
                    "mail": mail.pk,
                    "kind": mail.kind,
                    "delivered_to": mail.delivered_to,
                    "not_delivered_to": mail.undelivered,
                    "attempts": mail.attempts,
                    "error": mail.last_error if mail.undelivered else "",
                },
            )
    return mail


def _what(mail: StaffMail) -> str:
    return f"the {mail.kind.replace('_', ' ')} mail to {len(mail.recipients)} person(s)"


def staff_mail_retry_due(*, limit: int = 100) -> int:
    """The periodic task: another attempt for every mail whose retry is due; returns how many were tried."""
    due = list(
        StaffMail.objects.filter(
            status__in=[StaffMail.Status.FAILING, StaffMail.Status.SENDING], next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for mail_id in due:
        staff_mail_attempt(mail_id=mail_id, due_only=True)
    return len(due)


def staff_mail_undelivered(
    *, incident: str = "", subject_type: str = "", subject_ids: Sequence[Any] = ()
) -> QuerySet[StaffMail]:
    """Mails not (yet) delivered about an incident, or about these subjects: what the page waiting on
    them shows."""
    found = StaffMail.objects.filter(status__in=[StaffMail.Status.FAILING, StaffMail.Status.FAILED])
    wanted = Q()
    if incident:
        wanted |= Q(incident=incident)
    if subject_type and subject_ids:
        wanted |= Q(subject_type=subject_type, subject_id__in=[str(s) for s in subject_ids])
    if not wanted:
        return found.none()
    return found.filter(wanted).order_by("-created_at")


def staff_mail_undelivered_recent(*, hours: int = 48) -> QuerySet[StaffMail]:
    """Every alert mail not delivered in the last ``hours`` (the home page's warning)."""
    since = timezone.now() - timedelta(hours=hours)
    return StaffMail.objects.filter(
        status__in=[StaffMail.Status.FAILING, StaffMail.Status.FAILED], created_at__gte=since
    ).order_by("-created_at")
