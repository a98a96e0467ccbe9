"""Finding a test's processes by a marker in their environment (children inherit it, orphans keep it)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def pids_with_env(marker: str) -> list[int]:
    """Processes (other than this one) whose environment holds ``marker``; zombies excluded."""
    found = []
    needle = marker.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes() and _alive(entry):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _alive(entry: Path) -> bool:
    state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


def wait_gone(marker: str, timeout: float = 20.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := pids_with_env(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left
