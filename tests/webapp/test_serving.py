"""The web server is served one way: ``webapp/gunicorn_conf.py``, by ``make run`` and by the image."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from webapp.stack.processes import web_argv

ROOT = Path(__file__).resolve().parents[2]
CONFIG = "python:webapp.gunicorn_conf"


def _conf(monkeypatch: pytest.MonkeyPatch, **env: str):
    for name in ("SEQUESTER_WEB_WORKERS", "SEQUESTER_WEB_THREADS", "SEQUESTER_WEB_ACCESS_LOG", "SEQUESTER_WEB_BIND"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    import webapp.gunicorn_conf

    return importlib.reload(webapp.gunicorn_conf)


def test_make_run_serves_with_the_config_file_and_nothing_else():
    argv = web_argv("127.0.0.1:8000")
    assert argv[argv.index("-c") + 1] == CONFIG
    assert not [a for a in argv if a.startswith("--") and a != "--bind"]  # no flag overrides the file


def test_the_image_serves_with_the_same_config_file():
    cmd = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD "))
    argv = json.loads(cmd.removeprefix("CMD "))
    assert argv[argv.index("-c") + 1] == CONFIG
    assert not [a for a in argv if a.startswith("--")]
    assert re.search(r"^ENV SEQUESTER_WEB_BIND=0\.0\.0\.0:8000$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)


def test_defaults_threads_per_core_and_no_access_log(monkeypatch):
    conf = _conf(monkeypatch)
    assert conf.worker_class == "gthread"
    assert conf.workers >= 1
    assert conf.threads == 4
    assert conf.accesslog is None
    assert conf.control_socket_disable is True


def test_variables_set_workers_threads_and_the_access_log(monkeypatch):
    conf = _conf(monkeypatch, SEQUESTER_WEB_WORKERS="3", SEQUESTER_WEB_THREADS="8", SEQUESTER_WEB_ACCESS_LOG="true")
    assert (conf.workers, conf.threads, conf.accesslog) == (3, 8, "-")


def test_a_bad_value_stops_start_up(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="SEQUESTER_WEB_WORKERS"):
        _conf(monkeypatch, SEQUESTER_WEB_WORKERS="0")
