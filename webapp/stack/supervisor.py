"""A small process supervisor: start children in order, wait until each is ready, stop them all.

Each child runs in its own process group, so stopping it reaches its own children too (gunicorn and
Celery workers, for instance). Where ``setpriv`` exists (util-linux), each child also gets a parent
death signal, so even a supervisor killed with SIGKILL leaves no orphans behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import IO

ReadyCheck = Callable[[], bool]


class StackError(RuntimeError):
    """The stack could not start (a child died or never became ready)."""


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    ready: ReadyCheck | None = None
    ready_timeout: float = 60.0
    stop_timeout: float = 15.0


@dataclass(slots=True)
class _Child:
    spec: ProcessSpec
    process: subprocess.Popen[bytes]
    reader: threading.Thread


def _pdeathsig_prefix() -> list[str]:
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--"] if setpriv and sys.platform.startswith("linux") else []


class Supervisor:
    def __init__(self, *, out: IO[str] | None = None, poll_interval: float = 0.2) -> None:
        self._out = out or sys.stdout
        self._poll = poll_interval
        self._children: list[_Child] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._prefix = _pdeathsig_prefix()
        self._width = 8

    # --- output ------------------------------------------------------------------------------
    def say(self, message: str) -> None:
        with self._lock:
            self._out.write(message + "\n")
            self._out.flush()

    def _pump(self, name: str, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.say(f"{name:<{self._width}} | {raw.decode('utf-8', 'replace').rstrip()}")
        stream.close()

    # --- lifecycle ---------------------------------------------------------------------------
    def request_stop(self, signum: int | None = None, _frame: FrameType | None = None) -> None:
        self._stop.set()

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self.request_stop)

    def start(self, spec: ProcessSpec) -> None:
        """Start ``spec`` (from the main thread) and wait until it is ready."""
        self._width = max(self._width, len(spec.name))
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **spec.env}
        process = subprocess.Popen(
            [*self._prefix, *spec.argv],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        assert process.stdout is not None
        reader = threading.Thread(target=self._pump, args=(spec.name, process.stdout), daemon=True)
        reader.start()
        self._children.append(_Child(spec, process, reader))
        self._wait_ready(spec, process)

    def _wait_ready(self, spec: ProcessSpec, process: subprocess.Popen[bytes]) -> None:
        if spec.ready is None:
            return
        deadline = time.monotonic() + spec.ready_timeout
        while not spec.ready():
            if process.poll() is not None:
                raise StackError(f"{spec.name} exited with code {process.returncode} before it was ready")
            if self._stop.is_set():
                raise StackError(f"stopped while waiting for {spec.name}")
            if time.monotonic() > deadline:
                raise StackError(f"{spec.name} was not ready within {spec.ready_timeout:.0f} s")
            time.sleep(0.1)

    def wait(self) -> int:
        """Block until a stop is requested (0) or a child exits on its own (1)."""
        while not self._stop.wait(self._poll):
            for child in self._children:
                if child.process.poll() is not None:
                    self.say(f"{child.spec.name} exited with code {child.process.returncode}; stopping the stack")
                    return 1
        return 0

    def stop_all(self) -> None:
        """Stop children in reverse start order: TERM to the group, then KILL after the timeout."""
        for child in reversed(self._children):
            self._stop_child(child)
        for child in self._children:
            child.reader.join(timeout=2.0)
        self._children.clear()

    def _stop_child(self, child: _Child) -> None:
        pgid = child.process.pid
        if child.process.poll() is None:
            self._signal_group(pgid, signal.SIGTERM)
            try:
                child.process.wait(timeout=child.spec.stop_timeout)
            except subprocess.TimeoutExpired:
                self.say(f"{child.spec.name} did not stop in {child.spec.stop_timeout:.0f} s; killing it")
        # Whatever is left in the group (a stray grandchild, or the child itself) is killed.
        self._signal_group(pgid, signal.SIGKILL)
        child.process.wait()

    @staticmethod
    def _signal_group(pgid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def pids(self) -> list[int]:
        return [child.process.pid for child in self._children]

    def run(self, specs: Sequence[ProcessSpec], *, on_ready: Callable[[], None] | None = None) -> int:
        """Start ``specs`` in order, call ``on_ready``, supervise until stopped; always stop everything."""
        try:
            for spec in specs:
                self.start(spec)
                if self._stop.is_set():
                    return 0
            if on_ready is not None:
                on_ready()
            return self.wait()
        except StackError as exc:
            self.say(f"error: {exc}")
            return 1
        finally:
            self.say("stopping…")
            self.stop_all()
            self.say("stopped")
