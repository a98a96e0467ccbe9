"""The named retry policies and timeouts every activity call takes from (one table, no inline values)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

# Database writes through a service: quick, retried briefly, business errors are non-retryable.
DATABASE_WRITE = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=10,
)

DATABASE_WRITE_TIMEOUT = timedelta(seconds=30)

# Sending mail or webhooks: transient failures are common, a few attempts then the workflow goes on.
NOTIFY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    maximum_attempts=5,
)
NOTIFY_TIMEOUT = timedelta(minutes=1)
