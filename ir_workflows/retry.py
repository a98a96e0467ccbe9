"""The named retry policies and timeouts every activity call takes from (one table, no inline values)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

# A database failover (or any outage of the database) lasts up to about ten minutes: every step that needs
# the database keeps retrying with backoff for at least that long before a human is asked (RIDE_OUT is
# the schedule-to-close of those calls). A step still retrying after STALL_REPORT_AFTER is reported by a
# path that does not need the database (``incident_stall_alert``), and again once it resumed.
RIDE_OUT = timedelta(minutes=15)
STALL_REPORT_AFTER = timedelta(minutes=2)

# Database writes through a service: quick, retried briefly, business errors are non-retryable.
DATABASE_WRITE = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=10,
)
# A write the workflow cannot go on without and that no person waits on (an approval's expiry): retried
# with backoff until the database answers.
DATABASE_WRITE_UNTIL_DONE = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=0,
    non_retryable_error_types=["BusinessError"],
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

# Playbook steps that touch keys and backends: retried with backoff (capped at 30 s) for RIDE_OUT (the
# schedule-to-close of every call), then the commander is told and the workflow waits for a retry
# instead of spinning. A business error is final at once.
KEY_STEP = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=0,
    non_retryable_error_types=["BusinessError"],
)
KEY_STEP_TIMEOUT = timedelta(minutes=2)
# Per-key steps (restriction on a backend, rewrap) heartbeat: an activity lost with its worker is retried
# elsewhere after this long, not after its start-to-close timeout.
KEY_STEP_HEARTBEAT = timedelta(seconds=10)

# Telling a person (the commander's attention, a deadline reminder): never dropped because the database
# was away; retried until it is delivered (the workflow goes on meanwhile where it can).
TELL = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=0,
    non_retryable_error_types=["BusinessError"],
)

# The stall alert needs no database (log + mail to SEQUESTER_STALL_ALERT_EMAILS): a few attempts.
STALL_ALERT = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=5,
)
STALL_ALERT_TIMEOUT = timedelta(seconds=30)

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
