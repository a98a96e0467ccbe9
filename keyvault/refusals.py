"""Refused uses of the gate, evidenced on the audit chain without letting a flood grow it.

Every refused encrypt, decrypt, rewrap or data key — the state forbids it, the key is segregated from
the caller, a grant, an exception or a justification is missing, the caller may not use the gate — is
counted in a bucket: (key, principal, operation, refusal, minute).

- The first refusal of a bucket is written to the chain at once (``key.use_refused``, ``first``), so
  the fact that a principal was refused a key is never lost, and the auditor sees it within the call.
- Further refusals in the same bucket only add to a count in memory: a flood costs a dict update, no
  I/O, no lock on the chain. The count is written as one more ``key.use_refused`` event once the
  minute is over (by a background thread within seconds, by the next refusal, or at exit).
- So the chain grows by at most two events per bucket per minute per process, whatever the rate; a
  crash loses at most the count of one minute's further refusals in that process, never the fact.

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
from django.db import connection
from django.utils import timezone

from audit.actors import Actor

log = structlog.get_logger(__name__)
ACTION = "key.use_refused"
WINDOW_SECONDS = 60
FLUSH_SECONDS = 5.0
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
    ) -> bool:
        """Count one refused call of ``items`` items; returns True when it was written at once (the first
        of its bucket this minute). Never raises: the refusal itself must reach the caller."""
        window = _window(_now())
        bucket_key = (refusal.key, actor.name, refusal.operation, refusal.refusal, window)
        named = [key_named] if key_named else []
        with self._lock:
            bucket = self._buckets.get(bucket_key)
            if bucket is not None:
                bucket.count += 1
                bucket.items += items
                if key_named and key_named not in bucket.keys_named and len(bucket.keys_named) < _KEYS_NAMED:
                    bucket.keys_named.append(key_named)
            else:
                self._buckets[bucket_key] = _Bucket(
                    actor, refusal.state, refusal.answered, incident, affected_system, purpose, keys_named=named
                )
        self._ensure_thread()
        if bucket is not None:
            return False
        first = _Bucket(
            actor, refusal.state, refusal.answered, incident, affected_system, purpose, 1, items, list(named)
        )
        written = self._write({bucket_key: first}, first=True)
        self.flush()  # older minutes' counts, if no background thread wrote them yet
        return written

    def flush(self, *, everything: bool = False) -> int:
        """Write the counts of the minutes that are over (``everything``: of every minute, at exit or in
        tests); returns how many events were written."""
        window = _window(_now())
        with self._lock:
            due = {k: b for k, b in self._buckets.items() if b.count and (everything or k[4] < window)}
            for bucket_key, bucket in list(self._buckets.items()):
                if bucket_key[4] < window:
                    del self._buckets[bucket_key]
                elif bucket_key in due:  # this minute's count, written now: the bucket goes on counting
                    self._buckets[bucket_key] = _Bucket(bucket.actor, bucket.state, bucket.answered)
        if not due:
            return 0
        return len(due) if self._write(due, first=False) else 0

    def discard(self) -> int:
        """Forget what is counted and not written (a test's counts must not leak into the next)."""
        with self._lock:
            dropped = sum(b.count for b in self._buckets.values())
            self._buckets.clear()
        return dropped

    def pending(self) -> int:
        """Refusals counted but not written yet."""
        with self._lock:
            return sum(b.count for b in self._buckets.values())

    def _write(self, buckets: dict[_BucketKey, _Bucket], *, first: bool) -> bool:
        from audit.services import EventDraft, audit_record_many

        by_actor: dict[Actor, list[EventDraft]] = {}
        for (key, _principal, operation, refusal, window), bucket in buckets.items():
            data: dict[str, object] = {
                "operation": operation,
                "refusal": refusal,
                "answered": bucket.answered,
                "state": bucket.state,
                "count": bucket.count,
                "items": bucket.items,
                "window_start": _window_start(window),
                "window_seconds": WINDOW_SECONDS,
                "first": first,
            }
            if bucket.purpose:
                data["purpose"] = bucket.purpose
            if bucket.keys_named:
                data["keys_named"] = bucket.keys_named
            by_actor.setdefault(bucket.actor, []).append(
                EventDraft(
                    action=ACTION,
                    subject_type="key",
                    subject_id=key,
                    reason=f"{operation} refused: {refusal}",
                    incident=bucket.incident,
                    affected_system=bucket.affected_system,
                    data=data,
                )
            )
        try:
            for actor, drafts in by_actor.items():
                audit_record_many(actor=actor, drafts=drafts)
        except Exception:  # the database is failing: the counts wait for the next flush
            log.warning("keyvault.refusals_not_written", buckets=len(buckets), exc_info=True)
            if not first:
                self._restore(buckets)
            return False
        return True

    def _restore(self, buckets: dict[_BucketKey, _Bucket]) -> None:
        with self._lock:
            for bucket_key, bucket in buckets.items():
                current = self._buckets.setdefault(bucket_key, _Bucket(bucket.actor, bucket.state, bucket.answered))
                current.count += bucket.count
                current.items += bucket.items

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
