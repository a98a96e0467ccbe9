"""How the web server is served: one file for ``make run``, the image and the gate's benchmark.

``gunicorn -c python:webapp.gunicorn_conf webapp.wsgi:application`` (a ``--bind`` on the command
line overrides ``SEQUESTER_WEB_BIND``). See docs/serving.md for the measurements behind the defaults.

- ``gthread`` workers: a thread waits on the database while another one runs Python; keep-alive
  connections are held by the worker's poller, not by a thread.
- One worker process per core by default (``SEQUESTER_WEB_WORKERS``), ``SEQUESTER_WEB_THREADS``
  threads each: more processes than cores only add context switches on a CPU-bound request path.
- No access log by default (``SEQUESTER_WEB_ACCESS_LOG=true`` turns it on): a line per request is a
  write, and under ``make run`` a read and a write more in the supervisor, on every gate call. Uses
  are accounted by the gate itself (usage counters, audit events, the refusal ledger); errors are
  still logged by Django.
- Database connections persist across requests (``CONN_MAX_AGE``, webapp.settings.env) in each thread.
"""

from __future__ import annotations

import os

from webapp.settings.env import env_bool, env_int, env_str

bind = env_str("SEQUESTER_WEB_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = env_int("SEQUESTER_WEB_WORKERS", os.cpu_count() or 1, minimum=1, maximum=64)
threads = env_int("SEQUESTER_WEB_THREADS", 4, minimum=1, maximum=64)
keepalive = env_int("SEQUESTER_WEB_KEEPALIVE_SECONDS", 5, minimum=0, maximum=300)
accesslog = "-" if env_bool("SEQUESTER_WEB_ACCESS_LOG", False) else None
graceful_timeout = 10
control_socket_disable = True
