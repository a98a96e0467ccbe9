"""The step-up throttle: too many failed step-ups lock the account (and the address) for a while.

Sign-in and admin sign-in are throttled by django-axes (settings). Step-up is not a Django
authentication — it is a WebAuthn assertion, a TOTP code or a password re-entered inside a service,
with no login form or ``authenticate()`` call for axes to watch — so it has this small limiter,
backed by the database (``StepUpAttempt``): every try is written *before* it is checked, in its own
transaction, so concurrent guesses count too, and a crash mid-check counts as a failure.

- per account: ``SEQUESTER_STEP_UP_FAILURE_LIMIT`` failures (since the last success) within
  ``SEQUESTER_STEP_UP_LOCKOUT_SECONDS`` lock that person's step-up until the oldest one ages out;
- per address: ``SEQUESTER_STEP_UP_ADDRESS_FAILURE_LIMIT`` failures within the same window lock
  every step-up from that address (a success does not reset it: one good account must not
  launder another's guesses).
Locking is audited once (``stepup.locked_out``); a refused try raises ``StepUpLocked`` (429).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from approvals.errors import StepUpFailed, StepUpLocked
from approvals.models import StepUpAttempt
from audit.actors import Actor
from audit.services import audit_record

Outcome = StepUpAttempt.Outcome


def _window() -> timedelta:
    return timedelta(seconds=settings.SEQUESTER_STEP_UP_LOCKOUT_SECONDS)


def _user_failures(user: Any, now: datetime) -> QuerySet[StepUpAttempt]:
    since = now - _window()
    last_success = StepUpAttempt.objects.filter(user=user, outcome=Outcome.SUCCEEDED).aggregate(at=Max("started_at"))
    if last_success["at"] is not None and last_success["at"] > since:
        since = last_success["at"]
    return StepUpAttempt.objects.filter(user=user, started_at__gt=since).exclude(outcome=Outcome.SUCCEEDED)


def _address_failures(source_ip: str | None, now: datetime) -> QuerySet[StepUpAttempt] | None:
    if not source_ip:
        return None
    return StepUpAttempt.objects.filter(source_ip=source_ip, started_at__gt=now - _window()).exclude(
        outcome=Outcome.SUCCEEDED
    )


def _locked_until(failures: QuerySet[StepUpAttempt], limit: int) -> datetime | None:
    """When the lock ends (the limit-th newest failure ages out), or None when not locked."""
    recent = list(failures.order_by("-started_at").values_list("started_at", flat=True)[:limit])
    if len(recent) < limit:
        return None
    return recent[-1] + _window()


@transaction.atomic
def step_up_attempt_begin(*, user: Any, actor: Actor, purpose: str) -> StepUpAttempt:
    """Count a try before it is checked; refuse it (StepUpLocked) when the account or address is locked."""
    # One person's tries are serialised: a burst of parallel guesses cannot all pass the check.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    now = timezone.now()
    until = _locked_until(_user_failures(user, now), settings.SEQUESTER_STEP_UP_FAILURE_LIMIT)
    address = _address_failures(actor.source_ip, now)
    if until is None and address is not None:
        until = _locked_until(address, settings.SEQUESTER_STEP_UP_ADDRESS_FAILURE_LIMIT)
    if until is not None:
        raise StepUpLocked(
            "too many failed step-ups: try again later", retry_after=max(1, int((until - now).total_seconds()))
        )
    return StepUpAttempt.objects.create(user=user, source_ip=actor.source_ip, purpose=purpose, started_at=now)


def step_up_attempt_succeeded(attempt: StepUpAttempt) -> None:
    """Call inside the transaction that uses the step-up: it resets the account's count on commit."""
    StepUpAttempt.objects.filter(pk=attempt.pk).update(outcome=Outcome.SUCCEEDED)


def step_up_attempt_void(attempt: StepUpAttempt) -> None:
    """The try ended before any secret was checked (a closed request, a missing proof): not a guess."""
    StepUpAttempt.objects.filter(pk=attempt.pk, outcome=Outcome.PENDING).delete()


@transaction.atomic
def step_up_attempt_failed(attempt: StepUpAttempt, *, actor: Actor, reason: str) -> None:
    """Record a failed try (after the caller's transaction rolled back); audit the lock it starts."""
    StepUpAttempt.objects.filter(pk=attempt.pk).update(outcome=Outcome.FAILED)
    now = timezone.now()
    user_failures = _user_failures(attempt.user, now).count()
    address = _address_failures(attempt.source_ip, now)
    address_failures = address.count() if address is not None else 0
    user_limit = settings.SEQUESTER_STEP_UP_FAILURE_LIMIT
    address_limit = settings.SEQUESTER_STEP_UP_ADDRESS_FAILURE_LIMIT
    scopes = [
        scope
        for scope, count, limit in (
            ("account", user_failures, user_limit),
            ("address", address_failures, address_limit),
        )
        if count == limit  # the try that reaches the limit starts the lock: audited once
    ]
    if scopes:
        audit_record(
            action="stepup.locked_out",
            actor=actor,
            subject_type="user",
            subject_id=attempt.user.get_username(),
            reason=f"too many failed step-ups ({reason})",
            data={
                "scopes": scopes,
                "source_ip": attempt.source_ip,
                "purpose": attempt.purpose,
                "window_seconds": settings.SEQUESTER_STEP_UP_LOCKOUT_SECONDS,
            },
        )


@contextmanager
def step_up_try(
    *, user: Any, actor: Actor, purpose: str, on_failure: Callable[[StepUpFailed], None] | None = None
) -> Iterator[StepUpAttempt]:
    """One step-up try, counted: the block checks the proof and calls ``step_up_attempt_succeeded``
    inside its transaction. A ``StepUpFailed`` out of the block is recorded (``on_failure`` first, e.g.
    to audit the refusal, then the failure, which may start a lock); any other error voids the try."""
    attempt = step_up_attempt_begin(user=user, actor=actor, purpose=purpose)
    try:
        yield attempt
    except StepUpFailed as failure:
        if on_failure is not None:
            on_failure(failure)
        step_up_attempt_failed(attempt, actor=actor, reason=failure.message)
        raise
    except BaseException:
        step_up_attempt_void(attempt)
        raise
