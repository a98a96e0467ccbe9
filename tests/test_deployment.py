"""docker-compose.yml stays consistent with the settings (no Docker engine runs here to try it)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import yaml

from tests.servers import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SETTINGS_SOURCE = "\n".join(p.read_text() for p in (ROOT / "webapp" / "settings").glob("*.py"))


def _read_by_settings(name: str) -> bool:
    """Read as itself (a path setting) or as the `_FILE` twin of a secret."""
    candidates = {name, name.removesuffix("_FILE")}
    return name == "DJANGO_SETTINGS_MODULE" or any(
        re.search(rf"[\"']{re.escape(candidate)}[\"']", SETTINGS_SOURCE) is not None for candidate in candidates
    )


def test_every_variable_is_one_the_settings_read():
    env = COMPOSE["x-app-env"]
    assert [name for name in env if not _read_by_settings(name)] == []
    required = {
        "SECRET_KEY_FILE",
        "SEQUESTER_MASTER_KEY_FILE",
        "SEQUESTER_AUDIT_SIGNING_KEY_FILE",
        "SEQUESTER_CASEFILE_CERT_FILE",
        "SEQUESTER_CASEFILE_KEY_FILE",
        "DATABASE_URL",
        "REDIS_URL",
        "TEMPORAL_ADDRESS",
    }
    assert required <= set(env)
    assert env["DJANGO_SETTINGS_MODULE"] == "webapp.settings.production"


def test_the_production_topology():
    services = COMPOSE["services"]
    expected = {"postgres", "redis", "temporal", "temporal-ui", "web", "worker", "celery", "beat", "migrate"}
    assert expected <= set(services)
    for name in ("postgres", "redis", "temporal", "web", "worker", "celery"):
        assert "healthcheck" in services[name], name
    for name in ("web", "worker", "celery", "beat"):
        assert services[name]["environment"] == COMPOSE["x-app-env"], name
    assert services["temporal"]["environment"]["DB"] == "postgres12"


@pytest.mark.slow  # starts manage.py in a process of its own
def test_compose_environment_passes_check_deploy(tmp_path):
    secret = tmp_path / "django_secret_key.txt"
    secret.write_text("compose-" + "k" * 60)
    master = tmp_path / "master_key.txt"
    master.write_text("A" * 43 + "=")
    signing = tmp_path / "audit_signing_key.txt"
    signing.write_text("B" * 43 + "=")
    compose_env = {k: str(v) for k, v in COMPOSE["x-app-env"].items()} | {
        "SECRET_KEY_FILE": str(secret),
        "SEQUESTER_MASTER_KEY_FILE": str(master),
        "SEQUESTER_AUDIT_SIGNING_KEY_FILE": str(signing),
    }
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SEQUESTER_", "TEMPORAL_", "REDIS_URL"))}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=base | compose_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr + result.stdout
