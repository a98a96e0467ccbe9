"""Refused uses of the gate, evidenced on the audit chain without letting a flood grow it.

Every refused encrypt, decrypt, rewrap or data key — the state forbids it, the key is segregated from
the caller, a grant, an exception or a justification is missing, the caller may not use the gate — is
counted in a bucket: (key, principal, operation, refusal, minute).

- Recording costs a dict update under a lock: no I/O, no lock on the chain, on the refusing call. A
  refused caller is answered at once, and a flood of refusals cannot slow the chain for everyone else.
- A writer thread (every ``FLUSH_SECONDS``) writes the first refusal of each new bucket as its own
  ``key.use_refused`` event (``first``), so the fact that a principal was refused a key reaches the
  chain within a second; and, once a minute is over, the further refusals of each bucket as one more
  event carrying their count. Each flush appends its events in one batch (one chain lock).
- So the chain grows by at most two events per bucket per minute per process, whatever the rate. A
  crash loses at most the last second's new buckets and the current minute's further counts in that
  process — never more than the window. Process exit flushes everything.

The gate's successful calls never come here (its speed is untouched). A key that does not exist at all
is not a key's refused use and is not recorded; a key segregated from the caller is, under its real id,
with the real reason (``segregated``) next to what the caller was answered (404 ``key_not_found``).
"""

from __future__ import annotations

import atexit
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.actors import Actor

log = structlog.get_logger(__name__)
ACTION = "key.use_refused"
WINDOW_SECONDS = 60
FLUSH_SECONDS = 1.0
ANY_KEY = "*"  # the caller may not use the gate at all: no key is looked up
_KEYS_NAMED = 10  # key ids sampled into an ANY_KEY event


@dataclass(frozen=True, slots=True)
class Refusal:
    """What the gate refused, as evidence (the caller's answer may say less: segregation)."""

    key: str  # the key id, or ANY_KEY
    operation: str  # encrypt, decrypt, rewrap, data_key
    refusal: str  # the real reason: a state, segregated, context_required, grant_required, ...
    answered: str  # what the caller got: "<http status> <code>"
    state: str = ""


@dataclass(slots=True)
class _Bucket:
    actor: Actor
    state: str
    answered: str
    incident: str = ""
    affected_system: str = ""
    purpose: str = ""
    first_items: int = 0  # the first refusal's items (its own event)
    first_written: bool = False
    count: int = 0  # refusals after the first, not written yet
    items: int = 0
    keys_named: list[str] = field(default_factory=list)


_BucketKey = tuple[str, str, str, str, int]  # key, principal, operation, refusal, window (minute)


def _now() -> datetime:
    return timezone.now()


def _window(now: datetime) -> int:
    return int(now.timestamp()) // WINDOW_SECONDS


def _window_start(window: int) -> str:
    return datetime.fromtimestamp(window * WINDOW_SECONDS, tz=UTC).isoformat()


@dataclass(frozen=True, slots=True)
class _Write:
    key: _BucketKey
    bucket: _Bucket
    count: int
    items: int
    first: bool


class RefusalLedger:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[_BucketKey, _Bucket] = {}
        self._thread: threading.Thread | None = None

    def record(
        self,
        refusal: Refusal,
        *,
        actor: Actor,
        items: int = 1,
        incident: str = "",
        affected_system: str = "",
        purpose: str = "",
        key_named: str = "",
    ) -> None:
        """Count one refused call of ``items`` items. No I/O; never raises (the refusal must reach the
        caller)."""
        bucket_key = (refusal.key, actor.name, refusal.operation, refusal.refusal, _window(_now()))
        with self._lock:
            bucket = self._buckets.get(bucket_key)
            if bucket is None:
                self._buckets[bucket_key] = _Bucket(
                    actor,
                    refusal.state,
                    refusal.answered,
                    incident,
                    affected_system,
                    purpose,
                    first_items=items,
                    keys_named=[key_named] if key_named else [],
                )
            else:
                bucket.count += 1
                bucket.items += items
                if key_named and key_named not in bucket.keys_named and len(bucket.keys_named) < _KEYS_NAMED:
                    bucket.keys_named.append(key_named)
        self._ensure_thread()

    def flush(self, *, everything: bool = False) -> int:
        """Write the first refusal of every new bucket, and the further counts of the minutes that are
        over (``everything``: of every minute, at exit); returns how many events were written."""
        window = _window(_now())
        writes: list[_Write] = []
        with self._lock:
            for bucket_key, bucket in list(self._buckets.items()):
                if not bucket.first_written:
                    bucket.first_written = True
                    writes.append(_Write(bucket_key, bucket, 1, bucket.first_items, first=True))
                closed = bucket_key[4] < window
                if bucket.count and (closed or everything):
                    writes.append(_Write(bucket_key, bucket, bucket.count, bucket.items, first=False))
                    bucket.count = bucket.items = 0
                if closed:
                    del self._buckets[bucket_key]
        if not writes:
            return 0
        if not self._write(writes):
            self._restore(writes)
            return 0
        return len(writes)

    def discard(self) -> int:
        """Forget what is counted and not written (a test's counts must not leak into the next)."""
        with self._lock:
            dropped = sum(b.count + (not b.first_written) for b in self._buckets.values())
            self._buckets.clear()
        return dropped

    def pending(self) -> int:
        """Refusals counted but not written yet."""
        with self._lock:
            return sum(b.count + (not b.first_written) for b in self._buckets.values())

    def _write(self, writes: list[_Write]) -> bool:
        from audit.services import audit_batch, audit_record

        try:
            with transaction.atomic(), audit_batch():  # one append to the chain for the whole flush
                for write in writes:
                    key, _principal, operation, refusal, window = write.key
                    bucket = write.bucket
                    data: dict[str, object] = {
                        "operation": operation,
                        "refusal": refusal,
                        "answered": bucket.answered,
                        "state": bucket.state,
                        "count": write.count,
                        "items": write.items,
                        "window_start": _window_start(window),
                        "window_seconds": WINDOW_SECONDS,
                        "first": write.first,
                    }
                    if bucket.purpose:
                        data["purpose"] = bucket.purpose
                    if bucket.keys_named:
                        data["keys_named"] = list(bucket.keys_named)
                    audit_record(
                        action=ACTION,
                        actor=bucket.actor,
                        subject_type="key",
                        subject_id=key,
                        reason=f"{operation} refused: {refusal}",
                        incident=bucket.incident,
                        affected_system=bucket.affected_system,
                        data=data,
                    )
        except Exception:  # the database is failing: the counts wait for the next flush
            log.warning("keyvault.refusals_not_written", events=len(writes), exc_info=True)
            return False
        return True

    def _restore(self, writes: list[_Write]) -> None:
        with self._lock:
            for write in writes:
                bucket = self._buckets.setdefault(write.key, write.bucket)
                if write.first:
                    bucket.first_written = False
                else:
                    bucket.count += write.count
                    bucket.items += write.items

    def _ensure_thread(self) -> None:
        if not settings.SEQUESTER_USAGE_BACKGROUND_FLUSH:
            return
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="refusals-flush", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            try:
                self.flush()
            finally:
                connection.close()  # this thread's own connection: hold none between flushes


ledger = RefusalLedger()
atexit.register(ledger.flush, everything=True)
