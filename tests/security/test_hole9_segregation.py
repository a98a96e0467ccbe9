"""Hole 9: segregation leaked.

The attack (issue 11): for a caller outside incident response, a quarantined key id answered 409 with
its state on encrypt, and approval requests revealed whether a key was suspended; incident-response
roles could read any key's data by suspending it first and decrypting without a justification.
Wanted: every key-id-addressed call on a quarantined key answers exactly as for a key that does not exist
(404 ``key_not_found``) outside incident response — except the decrypt an application keeps for its
own ciphertext under a *suspended* key (availability; each use logged) — and decrypting a suspended key
as an incident responder needs a justification, an incident and the affected system.
"""

from __future__ import annotations

import os
import uuid

import pytest

from approvals import policies
from audit.models import AuditEvent
from keyvault import ciphertext as ct
from tests.incidents.conftest import cloudevent, post_signal
from tests.security.helpers import b64, create_key, encrypt, post
from webapp import roles

pytestmark = pytest.mark.django_db
FORENSICS = {"justification": "check the leaked rows", "incident": "INC-1", "affected_system": "billing-db"}


def _forged(key_id: str) -> str:
    """A well-formed ciphertext naming ``key_id`` (the caller can write any key id into a header)."""
    return b64(ct.pack(ct.header_for(uuid.UUID(key_id), 1, os.urandom(ct.NONCE_BYTES)), os.urandom(32)))


def _calls(key_id: str, ciphertext: str) -> dict[str, tuple[str, str, dict[str, object]]]:
    """Every key-id-addressed call an application can make, as (method, path, body)."""
    items: dict[str, object] = {"items": [{"ciphertext_b64": ciphertext}]}
    return {
        "read": ("get", f"/api/v1/keys/{key_id}/", {}),
        "encrypt": ("post", f"/api/v1/keys/{key_id}/encrypt", {"plaintext_b64": b64(b"x")}),
        "encrypt-batch": ("post", f"/api/v1/keys/{key_id}/encrypt-batch", {"items": [{"plaintext_b64": b64(b"x")}]}),
        "data-key": ("post", f"/api/v1/keys/{key_id}/data-key", {}),
        "rewrap": ("post", f"/api/v1/keys/{key_id}/rewrap", {"ciphertext_b64": ciphertext}),
        "rewrap-batch": ("post", f"/api/v1/keys/{key_id}/rewrap-batch", items),
        "wrapped-items": (
            "post",
            f"/api/v1/keys/{key_id}/wrapped-items",
            {"items": [{"reference": "r", "ciphertext_b64": ciphertext}]},
        ),
        "parent": (
            "post",
            "/api/v1/keys/",
            {"alias": f"child-{uuid.uuid4().hex[:6]}", "purpose": "p", "parent": key_id},
        ),
        "approval": (
            "post",
            "/api/v1/approvals/",
            {
                "action": policies.ENCRYPTION_EXCEPTION,
                "reason": "batch",
                "payload": {
                    "key": key_id,
                    "principal": "billing-app",
                    "purpose": "batch",
                    "valid_hours": 1,
                    "operation_budget": 10,
                },
            },
        ),
        "decrypt": ("post", f"/api/v1/keys/{key_id}/decrypt", {"ciphertext_b64": ciphertext}),
        "decrypt-batch": ("post", f"/api/v1/keys/{key_id}/decrypt-batch", items),
    }


def _answer(client, method: str, path: str, body: dict[str, object], key_id: str) -> tuple[int, str, str]:
    response = getattr(client, method)(path, body, format="json")
    payload = response.json()
    return response.status_code, payload.get("code", ""), str(payload).replace(key_id, "<key>")


@pytest.mark.parametrize("state", ["suspended", "compromised"])
def test_a_quarantined_key_answers_as_a_missing_one_outside_incident_response(
    detector, custodian, commander, application, state
):
    key = create_key(custodian, "payments")
    sealed = encrypt(application, key["id"]).json()["ciphertext_b64"]
    assert post_signal(detector, cloudevent({"id": key["id"]}, title="leak")).status_code == 202
    if state == "compromised":
        assert post(commander, f"/api/v1/keys/{key['id']}/compromise", {"reason": "confirmed"}).status_code == 200
    missing = str(uuid.uuid4())
    quarantined, absent = _calls(key["id"], sealed), _calls(missing, _forged(missing))
    for name, (method, path, body) in quarantined.items():
        if state == "suspended" and name.startswith(("decrypt", "rewrap")):
            continue  # the application's own decrypt under a suspended key is kept (below)
        seen = _answer(application, method, path, body, key["id"])
        assert seen[0] == 404 or (name == "approval" and seen[0] == 400), (name, seen)
        assert seen == _answer(application, *absent[name], missing), name  # indistinguishable
    assert encrypt(application, key["id"]).json() == {"code": "key_not_found", "detail": f"no key with id {key['id']}"}


def test_the_application_keeps_decrypting_its_ciphertext_under_a_suspended_key(detector, custodian, application):
    key = create_key(custodian, "payments")
    sealed = encrypt(application, key["id"], b"order 42").json()["ciphertext_b64"]
    assert post_signal(detector, cloudevent({"id": key["id"]}, title="leak")).status_code == 202
    response = post(application, f"/api/v1/keys/{key['id']}/decrypt", {"ciphertext_b64": sealed})
    assert response.status_code == 200
    assert response.json()["plaintext_b64"] == b64(b"order 42")
    assert AuditEvent.objects.filter(action="key.decrypt", subject_id=key["id"], actor="billing-app").count() == 1


def test_suspending_a_key_is_no_way_to_read_it_without_a_justification(custodian, application, client_as):
    """The attack: an incident responder suspends any key, then decrypts its data without saying why."""
    key = create_key(custodian, "hr-records")
    sealed = encrypt(application, key["id"], b"salary").json()["ciphertext_b64"]
    responder = client_as(roles.COMMANDER)
    assert post(responder, f"/api/v1/keys/{key['id']}/suspend", {"reason": "just because"}).status_code == 200
    refused = post(responder, f"/api/v1/keys/{key['id']}/decrypt", {"ciphertext_b64": sealed})
    assert refused.status_code == 403, "read without a justification"
    assert refused.json()["code"] == "decrypt_context_required"
    # A key custodian (who may also use the gate) is an incident responder too.
    custodian_refused = post(custodian, f"/api/v1/keys/{key['id']}/decrypt", {"ciphertext_b64": sealed})
    assert (custodian_refused.status_code, custodian_refused.json()["code"]) == (403, "decrypt_context_required")
    allowed = post(responder, f"/api/v1/keys/{key['id']}/decrypt", {"ciphertext_b64": sealed, **FORENSICS})
    assert allowed.status_code == 200
    use = AuditEvent.objects.filter(action="key.decrypt", subject_id=key["id"]).latest("seq")
    assert (use.reason, use.incident, use.affected_system) == (
        FORENSICS["justification"],
        FORENSICS["incident"],
        FORENSICS["affected_system"],
    )
