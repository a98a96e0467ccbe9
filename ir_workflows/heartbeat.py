"""Heartbeats from a side thread while a sync activity works, so a worker that dies (or a lost task) is
noticed after the heartbeat timeout (seconds), not after the start-to-close timeout (minutes).

The activity's own progress (``beat.details = (...)``) is what each heartbeat carries: a retry resumes
from the last one the server recorded.
"""

from __future__ import annotations

import contextvars
import threading
from datetime import timedelta
from types import TracebackType
from typing import Any

from temporalio import activity


class Heartbeat:
    def __init__(self, *details: Any, every: float | None = None) -> None:
        timeout = activity.info().heartbeat_timeout
        # A third of the timeout leaves room for two lost heartbeats; without a timeout, every 10 s.
        self._every = every or (timeout / 3 if timeout else timedelta(seconds=10)).total_seconds()
        self.details: tuple[Any, ...] = details
        self._stop = threading.Event()
        self._context = contextvars.copy_context()  # the activity's context, for the side thread
        self._thread = threading.Thread(target=self._run, name="activity-heartbeat", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self._context.run(activity.heartbeat, *self.details)

    def beat(self, *details: Any) -> None:
        """Record progress and send it now (from the activity's own thread)."""
        self.details = details
        activity.heartbeat(*details)

    def __enter__(self) -> Heartbeat:
        activity.heartbeat(*self.details)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(5)
