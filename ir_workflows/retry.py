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

# Playbook steps that touch keys and backends: a few quick attempts, then the commander is told
# (the workflow waits for a retry instead of spinning).
KEY_STEP = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=6,
    non_retryable_error_types=["BusinessError"],
)
KEY_STEP_TIMEOUT = timedelta(minutes=2)

# Rewrap: long-running, heartbeating, resumable from its last heartbeat.
REWRAP = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=20,
    non_retryable_error_types=["BusinessError"],
)
REWRAP_TIMEOUT = timedelta(hours=6)  # its heartbeat timeout comes with the plan (SEQUESTER_REWRAP_HEARTBEAT_SECONDS)

# Sending to a party (email, webhook): transient failures back off for about an hour and a half; a
# permanent one (address refused, 4xx) is a business error. Every delivery has its own idempotency key,
# so an attempt never resends what an earlier attempt delivered.
PARTY_SEND = RetryPolicy(
    initial_interval=timedelta(seconds=10),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=15),
    maximum_attempts=10,
    non_retryable_error_types=["BusinessError"],
)
