"""The verification snippet in docs/key-status-feed.md runs as published, against the live feed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "key-status-feed.md"


def _snippet() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    (block,) = blocks
    return str(block)


def test_the_documented_verifier_accepts_the_feed_and_rejects_a_forgery(case, tmp_path):
    client = Client()
    key = client.get("/.well-known/sequester-audit-key.json").json()["public_key"]
    document = json.loads(client.get("/.well-known/sequester-key-status.json").content)
    script = tmp_path / "verify_key_status.py"
    script.write_text(_snippet())
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps(document, indent=2))  # reformatted on disk: the canonical form still verifies

    ok = subprocess.run([sys.executable, str(script), str(feed), key], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("suspended ")

    document["feed"]["keys"][0]["replacement_fingerprint"] = "00" * 16
    feed.write_text(json.dumps(document))
    forged = subprocess.run([sys.executable, str(script), str(feed), key], capture_output=True, text=True, check=False)
    assert forged.returncode == 1
    assert "NOT VERIFIED" in forged.stderr
