"""Settings modules as deployed: production refuses missing secrets and passes check --deploy."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.servers import ROOT

pytestmark = pytest.mark.slow  # each test starts manage.py in a process of its own

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "webapp.settings.production",
    "SECRET_KEY": "p" * 30 + "-production-secret-that-is-long-enough",
    "DATABASE_URL": "postgres://sequester@127.0.0.1:5432/sequester",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "SEQUESTER_MASTER_KEY": "q" * 43 + "=",
    "SEQUESTER_AUDIT_SIGNING_KEY": "s" * 43 + "=",
    "SEQUESTER_CASEFILE_CERT_FILE": "/run/secrets/casefile_cert",
    "SEQUESTER_CASEFILE_KEY_FILE": "/run/secrets/casefile_key",
    "SEQUESTER_ALLOWED_HOSTS": "sequester.example",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and not k.startswith("SEQUESTER_")}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_in_production():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_production_requires_its_secrets():
    for missing in (
        "SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "SEQUESTER_MASTER_KEY",
        "SEQUESTER_AUDIT_SIGNING_KEY",
        "SEQUESTER_CASEFILE_CERT_FILE",
    ):
        env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
        result = _manage("check", env=env)
        assert result.returncode != 0
        assert missing in result.stderr, result.stderr


def test_secret_key_may_come_from_a_file(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text(PRODUCTION_ENV["SECRET_KEY"])
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"} | {"SECRET_KEY_FILE": str(key_file)}
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stderr


def test_a_bad_value_stops_start_up_naming_the_variable():
    result = _manage("check", env=PRODUCTION_ENV | {"TEMPORAL_ADDRESS": "no-port"})
    assert result.returncode != 0
    assert "TEMPORAL_ADDRESS must be host:port" in result.stderr
    result = _manage("check", env=PRODUCTION_ENV | {"SEQUESTER_MASTER_KEY": "c2hvcnQ="})
    assert result.returncode != 0
    assert "SEQUESTER_MASTER_KEY must decode to 32 bytes" in result.stderr
