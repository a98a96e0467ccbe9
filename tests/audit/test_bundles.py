"""Exported bundles verify offline — with the verifier file alone — and tampering is named."""

from __future__ import annotations

import base64
import copy
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from audit.actors import Actor
from audit.bundles import BundleScope, NothingToExport, audit_bundle_write
from audit.checkpoints import audit_checkpoint_create
from audit.models import AuditEvent
from audit.offline_verifier import verify_bundle
from audit.services import audit_record
from audit.signing import public_key_raw

pytestmark = pytest.mark.django_db
ACTOR = Actor(name="alice", type="user")
VERIFIER = Path(__file__).resolve().parents[2] / "audit" / "offline_verifier.py"


def _event(incident: str = "", subject: str = "x", *, subject_type: str = "key") -> None:
    audit_record(action="test.event", actor=ACTOR, subject_type=subject_type, subject_id=subject, incident=incident)


def _bundle(scope: BundleScope | None = None) -> dict[str, Any]:
    out = io.StringIO()
    audit_bundle_write(out=out, scope=scope or BundleScope(), actor=ACTOR)
    bundle: dict[str, Any] = json.loads(out.getvalue())
    return bundle


def _problems(bundle: dict[str, Any]) -> list[tuple[int | None, str]]:
    return [(p.seq, p.kind) for p in verify_bundle(bundle, pinned_keys=[public_key_raw()]).problems]


def test_an_incident_without_events_has_nothing_to_export():
    with pytest.raises(NothingToExport):
        audit_bundle_write(out=io.StringIO(), scope=BundleScope(incident="INC-0"), actor=ACTOR)
    assert not AuditEvent.objects.exists()  # nothing recorded either


def test_the_whole_chain_exports_and_verifies():
    for _ in range(5):
        _event()
    bundle = _bundle()
    assert [e["seq"] for e in bundle["events"]] == [1, 2, 3, 4, 5, 6]  # 6: the export itself
    assert bundle["events"][-1]["action"] == "audit.exported"
    assert bundle["start"] == {"seq": 0, "hash": "0" * 64}
    report = verify_bundle(bundle, pinned_keys=[public_key_raw()])
    assert report.ok, report.problems
    assert (report.events, report.redacted, report.checkpoints) == (6, 0, 1)


def test_an_incident_bundle_redacts_others_and_still_proves_the_run():
    _event("INC-9")  # 1
    audit_checkpoint_create()  # checkpoint at 1
    _event("INC-1")  # 2: the incident's first event
    _event("INC-2")  # 3: another incident's
    _event(subject="key-of-inc-1")  # 4: about one of its keys
    _event("INC-1")  # 5
    audit_checkpoint_create()  # checkpoint at 5
    _event("INC-3")  # 6
    bundle = _bundle(BundleScope(incident="INC-1", key_ids=frozenset({"key-of-inc-1"})))
    assert bundle["start"]["seq"] == 1  # hangs from the checkpoint before its first event
    events = {e["seq"]: e for e in bundle["events"]}
    assert sorted(events) == [2, 3, 4, 5, 6, 7]  # to the head, signed at export (7 = the export)
    assert events[3]["redacted"]
    assert "incident" not in events[3]
    assert events[6]["redacted"]
    assert not events[4].get("redacted")
    assert events[4]["subject_id"] == "key-of-inc-1"
    assert events[7]["action"] == "audit.exported"
    assert events[7]["incident"] == "INC-1"
    assert _problems(bundle) == []


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        ("change", (3, "changed")),
        ("remove", (3, "removed")),
        ("reorder", (3, "reordered")),
        ("insert", (3, "inserted")),
        ("change_redacted", (2, "changed")),
    ],
)
def test_a_tampered_bundle_fails_naming_the_event(tamper, expected):
    _event("INC-1")
    _event("INC-2")
    _event("INC-1")
    _event("INC-1")
    bundle = _bundle(BundleScope(incident="INC-1"))
    forged = copy.deepcopy(bundle)
    events = forged["events"]
    if tamper == "change":
        events[2]["reason"] = "nothing happened"
    elif tamper == "remove":
        del events[2]
    elif tamper == "reorder":
        events[2], events[3] = events[3], events[2]
    elif tamper == "insert":
        events.insert(3, dict(events[2], reason="slipped in"))
    else:
        events[1]["content_digest"] = "f" * 64
    assert expected in _problems(forged), _problems(forged)


def test_an_unanchored_run_or_a_foreign_key_fails():
    _event()
    bundle = _bundle()
    unanchored = copy.deepcopy(bundle)
    unanchored["checkpoints"] = []
    assert (2, "checkpoint") in _problems(unanchored)
    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    report = verify_bundle(bundle, pinned_keys=[other])
    assert not report.ok
    assert "unknown key" in str(report.problems[0])


def test_the_verifier_runs_alone_from_a_copy_of_its_file(tmp_path):
    for _ in range(3):
        _event()
    bundle = _bundle()
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    alone = tmp_path / "elsewhere"
    alone.mkdir()
    shutil.copy(VERIFIER, alone / "offline_verifier.py")
    key = base64.b64encode(public_key_raw()).decode()
    command = [sys.executable, "-I", str(alone / "offline_verifier.py"), str(path), "--public-key", key]
    result = subprocess.run(command, capture_output=True, text=True, cwd=alone, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VERIFIED" in result.stdout
    bundle["events"][1]["actor"] = "mallory"
    path.write_text(json.dumps(bundle))
    result = subprocess.run(command, capture_output=True, text=True, cwd=alone, timeout=60)
    assert result.returncode == 1
    assert "PROBLEM event 2: changed" in result.stdout
    result = subprocess.run([*command[:3], str(tmp_path / "missing.json")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2


def test_export_and_verify_commands(tmp_path):
    from django.core.management import call_command

    _event("INC-1")
    out = tmp_path / "chain.json"
    call_command("audit_export", "-o", str(out))
    call_command("audit_verify", str(out))
    data = json.loads(out.read_text())
    data["events"][0]["reason"] = "x"
    out.write_text(json.dumps(data))
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="NOT VERIFIED"):
        call_command("audit_verify", str(out))
    assert AuditEvent.objects.filter(action="audit.exported").count() == 1
