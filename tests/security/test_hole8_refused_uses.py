"""Hole 8: refused uses left no trace.

The attack (issue 11): refused encrypts (409) and refused decrypts (403) appeared nowhere in the audit
chain or the case file, so AG-7 could not be evidenced. Wanted: every refusal evidenced on the chain,
without letting a flood grow it without bound (one event per key x principal x reason x minute with a
count), and the case file lists refused attempts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from audit.verification import audit_verify_database
from incidents.models import Incident
from tests.incidents.conftest import cloudevent, post_signal
from tests.security.helpers import b64, create_key, encrypt, post
from webapp import roles

pytestmark = pytest.mark.django_db
REFUSED = "key.use_refused"
FLOOD = 300


@pytest.fixture
def clock(monkeypatch):
    """The refusal ledger's minute, moved by the test (audit times stay real)."""
    now = [datetime(2026, 12, 1, 10, 0, 5, tzinfo=timezone.get_current_timezone())]
    monkeypatch.setattr("keyvault.refusals._now", lambda: now[0])
    return now


def _refused(**match):
    return AuditEvent.objects.filter(action=REFUSED, **match)


def test_refused_encrypts_and_decrypts_are_on_the_chain_bounded_under_a_flood(
    detector, custodian, commander, application, client_as, clock
):
    from keyvault.refusals import ledger

    key = create_key(custodian, "payments")
    sealed = encrypt(application, key["id"]).json()["ciphertext_b64"]
    reference = post_signal(detector, cloudevent({"id": key["id"]}, title="leak")).json()["incident"]
    chain_before = AuditEvent.objects.count()

    # A flood of refused encrypts by the application: answered at once, no write on the refusing call ...
    for _ in range(FLOOD):
        assert encrypt(application, key["id"]).status_code == 404
    assert AuditEvent.objects.count() == chain_before
    assert ledger.pending() == FLOOD
    # ... the writer (every second) puts the first on the chain, the count when the minute is over.
    assert ledger.flush() == 1
    first = _refused(subject_id=key["id"], actor="billing-app").get()
    assert first.data["operation"] == "encrypt"
    assert first.data["refusal"] == "segregated"  # the truth, for the auditor ...
    assert first.data["answered"] == "404 key_not_found"  # ... and what the caller was told
    assert first.data["state"] == "suspended"
    assert first.data["count"] == 1
    assert first.data["first"] is True
    assert AuditEvent.objects.count() == chain_before + 1  # the flood did not grow the chain
    assert ledger.pending() == FLOOD - 1

    clock[0] += timedelta(minutes=1)
    assert ledger.flush() == 1
    summary = _refused(subject_id=key["id"], actor="billing-app").latest("seq")
    assert (summary.data["count"], summary.data["first"]) == (FLOOD - 1, False)
    assert summary.data["window_start"] == first.data["window_start"]
    assert AuditEvent.objects.count() == chain_before + 2

    # Refused decrypts: a responder without a justification, then (compromised) the application.
    refused = post(commander, f"/api/v1/keys/{key['id']}/decrypt", {"ciphertext_b64": sealed})
    assert (refused.status_code, refused.json()["code"]) == (403, "decrypt_context_required")
    ledger.flush()
    assert _refused(subject_id=key["id"], data__refusal="context_required").exists()
    assert post(commander, f"/api/v1/keys/{key['id']}/compromise", {"reason": "confirmed"}).status_code == 200
    for _ in range(3):
        assert post(application, f"/api/v1/keys/{key['id']}/decrypt", {"ciphertext_b64": sealed}).status_code == 404
    ledger.flush()
    assert _refused(subject_id=key["id"], actor="billing-app", data__operation="decrypt").count() == 1

    # A caller without the gate permission at all (an auditor) is refused, and that is evidenced too.
    auditor = client_as(roles.AUDITOR)
    assert encrypt(auditor, key["id"]).status_code == 403
    ledger.flush()
    denied = _refused(subject_id="*").get()
    assert denied.data["keys_named"] == [key["id"]]
    assert denied.data["answered"] == "403 permission_denied"

    clock[0] += timedelta(minutes=1)
    ledger.flush()
    assert audit_verify_database().ok  # the chain still verifies

    # The case file lists the refused attempts on the incident's keys.
    from casefile.gather import case_data

    incident = Incident.objects.get(reference=reference)
    section = case_data(incident, generated_by="auditor", now=timezone.now()).sections["refused_uses"]
    assert section is not None
    attempts = {(row[1], row[2], row[3]): int(row[5]) for row in section.rows}
    assert attempts[("billing-app", "encrypt", "segregated")] == FLOOD
    assert attempts[("billing-app", "decrypt", "segregated")] == 3
    assert attempts[(commander_name(commander), "decrypt", "context_required")] == 1


def test_a_flood_across_keys_principals_and_minutes_stays_bounded(custodian, application, clock, client_as):
    """At most two events per key, principal, operation, reason and minute, whatever the rate."""
    from keyvault.refusals import ledger

    keys = [create_key(custodian, f"retired-{i}") for i in range(3)]
    for key in keys:
        assert post(custodian, f"/api/v1/keys/{key['id']}/deactivate", {"reason": "retired"}).status_code == 200
    other = client_as(roles.SERVICE_ACCOUNT)
    batch = {"items": [{"plaintext_b64": b64(b"x")}] * 5}
    before = _refused().count()
    for _minute in range(2):
        for _ in range(20):
            for key in keys:
                for caller in (application, other):
                    response = post(caller, f"/api/v1/keys/{key['id']}/encrypt-batch", batch)
                    assert (response.status_code, response.json()["code"]) == (409, "key_not_usable_for_encryption")
        clock[0] += timedelta(minutes=1)
        ledger.flush()
    calls = 2 * 20 * len(keys) * 2  # minutes x calls x keys x principals
    events = list(_refused()[before:])
    assert len(events) == len(keys) * 2 * 2 * 2  # keys x principals x minutes x (first + count)
    assert sum(e.data["count"] for e in events) == calls  # every refusal counted
    assert sum(e.data["items"] for e in events) == 5 * calls


def commander_name(client) -> str:
    return str(client.handler._force_user.get_username())
