"""Usage counters of the gate, tallied in memory and written in the background once a second.

Writing a counter row in every operation would cost a database round trip per call; the counters are
for capacity and rotation decisions (an AES-GCM key should not see 2^32 encryptions), not evidence,
so a crash may lose at most the last second of counts. Evidence — every use of a suspended or
compromised key — goes to the audit trail in the operation's own transaction, never through here.
"""

from __future__ import annotations

import atexit
import random
import threading
from collections import defaultdict
from uuid import UUID

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

log = structlog.get_logger(__name__)
FLUSH_SECONDS = 1.0


class UsageTally:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: defaultdict[UUID, list[int]] = defaultdict(lambda: [0, 0])
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, key_id: UUID, *, encrypted: int = 0, decrypted: int = 0) -> None:
        with self._lock:
            counts = self._pending[key_id]
            counts[0] += encrypted
            counts[1] += decrypted
            if settings.SEQUESTER_USAGE_BACKGROUND_FLUSH and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._run, name="usage-flush", daemon=True)
                self._thread.start()

    def take(self) -> dict[UUID, list[int]]:
        with self._lock:
            pending, self._pending = dict(self._pending), defaultdict(lambda: [0, 0])
        return pending

    def flush(self, *, quiet: bool = False) -> int:
        """Write what is pending (from any thread); returns how many keys were updated."""
        from keyvault.models import USAGE_SHARDS, KeyUsage

        pending = self.take()
        if not pending:
            return 0
        now = timezone.now()
        try:
            with transaction.atomic():
                for key_id, (encrypted, decrypted) in sorted(pending.items()):
                    KeyUsage.objects.filter(key_id=key_id, shard=random.randrange(USAGE_SHARDS)).update(  # noqa: S311
                        encrypt_count=F("encrypt_count") + encrypted,
                        decrypt_count=F("decrypt_count") + decrypted,
                        last_used_at=now,
                    )
        except Exception:  # counts go back to the tally and are retried next time
            if not quiet:
                log.warning("keyvault.usage_flush_failed", keys=len(pending), exc_info=True)
            with self._lock:
                for key_id, (encrypted, decrypted) in pending.items():
                    counts = self._pending[key_id]
                    counts[0] += encrypted
                    counts[1] += decrypted
            return 0
        return len(pending)

    def _run(self) -> None:
        while not self._wake.wait(FLUSH_SECONDS):
            self.flush()
            connection.close()  # this thread's own connection: hold none between flushes


tally = UsageTally()
atexit.register(tally.flush, quiet=True)
