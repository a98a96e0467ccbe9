"""``manage.py regulatory_assess FACTS.json``: the contract used by acceptance tests outside the project."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"


def run(path: str) -> tuple[dict[str, Any], str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("regulatory_assess", path, stdout=out, stderr=err)
    return json.loads(out.getvalue()), err.getvalue()


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("regulatory-*.json")), ids=lambda p: p.name)
def test_documented_examples_assess(example):
    from regulatory.services.catalogue import catalogue_get

    document, _ = run(str(example))
    obligations = document["obligations"]
    entities = 1 + len(json.loads(example.read_text()).get("entities", []))
    assert len(obligations) == len(catalogue_get().rules) * entities
    for obligation in obligations:
        assert {"id", "status", "due_utc", "trigger_event", "rule", "citation", "confidence", "reasons"} <= set(
            obligation
        )
        if obligation["due_utc"] is not None:
            assert obligation["due_utc"].endswith("Z")


def test_eu_example(tmp_path):
    document, _ = run(str(EXAMPLES / "regulatory-eu-controller.json"))
    by_id = {o["id"]: o for o in document["obligations"]}
    # aware 27 Mar 2026 14:30 CET = 13:30Z; + 72 h across the 29 Mar DST change
    assert by_id["EU-GDPR-33"]["status"] == "required"
    assert by_id["EU-GDPR-33"]["due_utc"] == "2026-03-30T13:30:00Z"
    assert by_id["EU-GDPR-33"]["due_local"] == "2026-03-30T15:30:00+02:00"
    assert by_id["EU-GDPR-34"]["status"] == "required"
    assert by_id["EU-GDPR-34"]["due_utc"] is None
    assert by_id["EU-GDPR-33"]["provisional"] is False  # the profile is complete and the risk decided


def test_chain_example():
    """docs/examples/regulatory-chain-blocks.json: a business associate, its covered entity told ten days
    later, and a group company in Germany, each reading the data blocks that are theirs."""
    document, _ = run(str(EXAMPLES / "regulatory-chain-blocks.json"))
    by_id = {o["id"]: o for o in document["obligations"]}
    assert by_id["US-HIPAA-410"]["due_utc"] == "2026-03-17T03:59:59Z"
    assert by_id["US-HIPAA-404@st-mary"]["due_utc"] == "2026-03-27T03:59:59Z"
    assert by_id["EU-GDPR-33@acme-eu"]["due_utc"] == "2026-01-18T15:00:00Z"
    assert by_id["EU-GDPR-33@st-mary"]["status"] == "not_required"  # no EU data of its own


def test_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps({"deadline_tz": "UTC"})))
    document, _ = run("-")
    assert {o["status"] for o in document["obligations"]} <= {"not_required", "not_in_force", "awaiting_trigger"}


@pytest.mark.parametrize(
    ("content", "code"),
    [
        ("{not json", "facts_not_json"),
        ('{"deadline_tz": "UTC", "events": {"aware": "2026-01-01T00:00:00Z"}}', "facts_unknown_event"),
        ('{"deadline_tz": "UTC", "events": {"aware_at": "2026-01-01 10:00"}}', "facts_bad_time"),
        ('{"deadline_tz": "Nowhere/Town"}', "facts_bad_timezone"),
        ('{"deadline_tz": "UTC", "entity": {"hipaa": "yes"}}', "facts_invalid"),
    ],
)
def test_bad_input_has_a_stable_code(tmp_path, content, code):
    path = tmp_path / "facts.json"
    path.write_text(content)
    err = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("regulatory_assess", str(path), stdout=io.StringIO(), stderr=err)
    assert raised.value.returncode == 2
    assert json.loads(err.getvalue())["error"]["code"] == code


def test_missing_file(tmp_path):
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("regulatory_assess", str(tmp_path / "absent.json"), stdout=io.StringIO(), stderr=err)
    assert json.loads(err.getvalue())["error"]["code"] == "facts_unreadable"


@pytest.mark.slow  # starts manage.py in a process of its own
def test_process_exit_codes(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"deadline_tz": "UTC", "events": {"aware_at": "soon"}}')
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "webapp.settings.test"}
    ok = subprocess.run(
        [sys.executable, "manage.py", "regulatory_assess", str(EXAMPLES / "regulatory-eu-controller.json")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "obligations" in json.loads(ok.stdout)
    failed = subprocess.run(
        [sys.executable, "manage.py", "regulatory_assess", str(bad)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert failed.returncode == 2
    assert failed.stdout == ""
    assert '"code": "facts_bad_time"' in failed.stderr
