"""SEQUESTER_REGULATORY_DIR as deployed: a missing directory stops start-up, a bad file fails the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.servers import ROOT

pytestmark = pytest.mark.slow  # each test starts manage.py in a process of its own


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "SEQUESTER_REGULATORY_DIR"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "webapp.settings.test", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_missing_directory_stops_start_up(tmp_path):
    result = _manage("check", env={"SEQUESTER_REGULATORY_DIR": str(tmp_path / "absent")})
    assert result.returncode != 0
    assert "SEQUESTER_REGULATORY_DIR must be a directory" in result.stderr


def test_operator_files_are_used_and_checked(tmp_path):
    facts = tmp_path / "facts.json"
    facts.write_text(
        json.dumps(
            {
                "deadline_tz": "America/New_York",
                "entity": {"sec_registrant": True},
                "events": {"materiality_determined_at": "2026-12-21T15:00:00Z"},
            }
        )
    )
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "closures.toml").write_text('[[holiday]]\ncalendar = "US-SEC"\ndate = 2026-12-24\nname = "EO closure"\n')
    result = _manage("regulatory_assess", str(facts), env={"SEQUESTER_REGULATORY_DIR": str(rules)})
    assert result.returncode == 0, result.stderr
    sec = next(o for o in json.loads(result.stdout)["obligations"] if o["id"] == "US-SEC-8K-105")
    assert sec["due_utc"] == "2026-12-29T22:30:00Z"  # one business day later than without the closure
    (rules / "broken.toml").write_text("[[rule]]\nid = 'nope'\n")
    failed = _manage("regulatory_assess", str(facts), env={"SEQUESTER_REGULATORY_DIR": str(rules)})
    assert failed.returncode == 2
    assert json.loads(failed.stderr.strip().splitlines()[0])["error"]["code"] == "catalogue_invalid"
