"""Benchmark settings: the test settings plus a bare baseline endpoint. PostgreSQL when it answers."""

from __future__ import annotations

import os
import socket


def _postgres_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.3):
            return True
    except OSError:
        return False


if "DATABASE_URL" not in os.environ and _postgres_answers():
    os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/test"

from webapp.settings.test import *  # noqa: E402, F403

ROOT_URLCONF = "bench.urls"
SEQUESTER_USAGE_BACKGROUND_FLUSH = True  # as deployed
DATABASES["default"]["CONN_MAX_AGE"] = 60  # noqa: F405 - as deployed: connections persist
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "ERROR"}}
if os.environ.get("SEQUESTER_BENCH_DATABASE_NAME"):  # a process the bench started, on its scratch database
    DATABASES["default"]["NAME"] = os.environ["SEQUESTER_BENCH_DATABASE_NAME"]  # noqa: F405
