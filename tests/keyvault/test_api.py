"""The REST contract of key custody: paths, shapes, authorization per role, bad input never a 500."""

from __future__ import annotations

import base64
import json

import pytest
from django.test import override_settings

from keyvault.models import ManagedKey
from keyvault.services import lifecycle
from keyvault.states import KeyState
from tests.keyvault.conftest import SYSTEM
from webapp import roles

pytestmark = pytest.mark.django_db


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def machine(api_client, service_token):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {service_token}")
    return api_client


@pytest.fixture
def as_role(make_user):
    from rest_framework.test import APIClient

    def client_for(*role_slugs: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(make_user(f"u-{'-'.join(role_slugs) or 'none'}", *role_slugs))
        return client

    return client_for


def _create(client, alias="payments", **extra):
    response = client.post("/api/v1/keys/", {"alias": alias, "purpose": "card data", **extra}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def _post(client, path, body):
    return client.post(path, body, format="json")


def test_create_encrypt_decrypt_round_trip(machine):
    key = _create(machine)
    assert key["state"] == "active"
    assert key["backend"] == "local"
    assert len(key["fingerprint"]) == 32
    encrypted = _post(
        machine, f"/api/v1/keys/{key['id']}/encrypt", {"plaintext_b64": b64(b"secret"), "aad_b64": b64(b"ctx")}
    )
    assert encrypted.status_code == 200
    ciphertext = encrypted.json()["ciphertext_b64"]
    decrypted = _post(
        machine, f"/api/v1/keys/{key['id']}/decrypt", {"ciphertext_b64": ciphertext, "aad_b64": b64(b"ctx")}
    )
    assert decrypted.json()["plaintext_b64"] == b64(b"secret")


def test_create_pre_active_then_refuse_encrypt_with_409(machine):
    key = _create(machine, activate=False)
    assert key["state"] == "pre_active"
    response = _post(machine, f"/api/v1/keys/{key['id']}/encrypt", {"plaintext_b64": b64(b"x")})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "key_not_usable_for_encryption"
    assert "pre active" in body["detail"]
    assert body["state"] == "pre_active"


def test_data_key_and_alias_encrypt(machine):
    key = _create(machine)
    data_key = _post(machine, f"/api/v1/keys/{key['id']}/data-key", {}).json()
    assert len(base64.b64decode(data_key["plaintext_b64"])) == 32
    opened = _post(machine, f"/api/v1/keys/{key['id']}/decrypt", {"ciphertext_b64": data_key["wrapped_b64"]}).json()
    assert opened["plaintext_b64"] == data_key["plaintext_b64"]
    by_alias = _post(machine, "/api/v1/aliases/payments/encrypt", {"plaintext_b64": b64(b"x")})
    assert by_alias.status_code == 200
    assert by_alias.json()["key_id"] == key["id"]


def test_suspended_key_leaves_inventory_and_alias_but_decrypts(machine, as_role, django_capture_on_commit_callbacks):
    key = _create(machine)
    ciphertext = _post(machine, f"/api/v1/keys/{key['id']}/encrypt", {"plaintext_b64": b64(b"x")}).json()[
        "ciphertext_b64"
    ]
    commander = as_role(roles.COMMANDER)
    with django_capture_on_commit_callbacks(execute=True):  # the backend restriction follows the commit
        suspended = _post(
            commander, f"/api/v1/keys/{key['id']}/suspend", {"reason": "scanner found it", "incident": "INC-9"}
        )
    assert suspended.status_code == 200
    assert suspended.json()["suspended"] == [key["id"]]
    assert key["id"] not in [k["id"] for k in machine.get("/api/v1/keys/").json()["results"]]
    assert (
        _post(machine, "/api/v1/aliases/payments/encrypt", {"plaintext_b64": b64(b"x")}).json()["code"]
        == "no_usable_key_for_alias"
    )
    refused = _post(machine, f"/api/v1/keys/{key['id']}/encrypt", {"plaintext_b64": b64(b"x")})
    assert (refused.status_code, refused.json()["code"]) == (404, "key_not_found")  # segregated
    assert _post(machine, f"/api/v1/keys/{key['id']}/decrypt", {"ciphertext_b64": ciphertext}).status_code == 200
    quarantine = commander.get("/api/v1/keys/quarantine/").json()["results"]
    assert [k["id"] for k in quarantine] == [key["id"]]
    assert quarantine[0]["restricted_at"] is not None


def test_quarantine_is_for_incident_responders_only(machine, as_role):
    key = _create(machine)
    lifecycle.key_suspend(key_ids=[key["id"]], actor=SYSTEM, reason="leak")
    assert machine.get("/api/v1/keys/quarantine/").status_code == 403
    assert as_role(roles.AUDITOR).get("/api/v1/keys/quarantine/").status_code == 403
    assert as_role(roles.SECURITY_LEAD).get("/api/v1/keys/quarantine/").status_code == 200
    # A quarantined key does not exist for those who may not see the quarantine.
    assert machine.get(f"/api/v1/keys/{key['id']}/").status_code == 404
    assert as_role(roles.CISO).get(f"/api/v1/keys/{key['id']}/").status_code == 200


def test_compromised_key_decrypt_needs_a_responder_and_context(machine, as_role):
    key = _create(machine)
    ciphertext = _post(machine, f"/api/v1/keys/{key['id']}/encrypt", {"plaintext_b64": b64(b"x")}).json()[
        "ciphertext_b64"
    ]
    commander = as_role(roles.COMMANDER)
    assert _post(commander, f"/api/v1/keys/{key['id']}/compromise", {"reason": "confirmed"}).status_code == 200
    denied = _post(machine, f"/api/v1/keys/{key['id']}/decrypt", {"ciphertext_b64": ciphertext})
    assert (denied.status_code, denied.json()["code"]) == (404, "key_not_found")  # segregated
    no_context = _post(commander, f"/api/v1/keys/{key['id']}/decrypt", {"ciphertext_b64": ciphertext})
    assert no_context.status_code == 403
    assert no_context.json()["code"] == "decrypt_context_required"
    forensics = {"justification": "forensics", "incident": "INC-1", "affected_system": "db"}
    no_grant = _post(commander, f"/api/v1/keys/{key['id']}/decrypt", {"ciphertext_b64": ciphertext, **forensics})
    assert (no_grant.status_code, no_grant.json()["code"]) == (403, "decrypt_grant_required")
    from tests.keyvault.conftest import grant

    grant(ManagedKey.objects.get(id=key["id"]), "u-commander")
    allowed = _post(
        commander,
        f"/api/v1/keys/{key['id']}/decrypt",
        {"ciphertext_b64": ciphertext, "justification": "forensics", "incident": "INC-1", "affected_system": "db"},
    )
    assert allowed.status_code == 200


def test_rewrap_to_the_replacement(machine, as_role):
    key = _create(machine)
    ciphertext = _post(machine, f"/api/v1/keys/{key['id']}/encrypt", {"plaintext_b64": b64(b"x")}).json()[
        "ciphertext_b64"
    ]
    lifecycle.key_suspend(key_ids=[key["id"]], actor=SYSTEM, reason="leak")
    replacement = lifecycle.key_replace(key_id=key["id"], actor=SYSTEM, reason="replace")
    rewrapped = _post(machine, f"/api/v1/keys/{key['id']}/rewrap", {"ciphertext_b64": ciphertext})
    assert rewrapped.status_code == 200
    assert rewrapped.json()["key_id"] == str(replacement.id)
    opened = _post(
        machine, f"/api/v1/keys/{replacement.id}/decrypt", {"ciphertext_b64": rewrapped.json()["ciphertext_b64"]}
    )
    assert opened.json()["plaintext_b64"] == b64(b"x")


def test_batches(machine):
    key = _create(machine)
    items = [{"plaintext_b64": b64(bytes([i]) * 10)} for i in range(5)]
    sealed = _post(machine, f"/api/v1/keys/{key['id']}/encrypt-batch", {"items": items}).json()["items"]
    opened = _post(machine, f"/api/v1/keys/{key['id']}/decrypt-batch", {"items": sealed}).json()["items"]
    assert [o["plaintext_b64"] for o in opened] == [i["plaintext_b64"] for i in items]


@pytest.mark.parametrize(
    ("role", "create", "encrypt", "read"),
    [
        (roles.SERVICE_ACCOUNT, 201, 200, 200),
        (roles.KEY_CUSTODIAN, 201, 200, 200),
        (roles.COMMANDER, 403, 403, 200),
        (roles.AUDITOR, 403, 403, 200),
        (roles.LEGAL_DPO, 403, 403, 403),
        (None, 403, 403, 403),
    ],
)
def test_authorization_per_role(machine, as_role, role, create, encrypt, read):
    key = _create(machine)
    client = as_role(role) if role else as_role()
    assert client.post("/api/v1/keys/", {"alias": "x", "purpose": "p"}, format="json").status_code == create
    assert _post(client, f"/api/v1/keys/{key['id']}/encrypt", {"plaintext_b64": b64(b"x")}).status_code == encrypt
    assert client.get("/api/v1/keys/").status_code == read


def test_anonymous_gets_401(api_client):
    assert api_client.post("/api/v1/keys/", {}, format="json").status_code == 401


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"plaintext_b64": "***"}, "invalid_input"),
        ({"plaintext_b64": "YQ"}, "invalid_input"),  # missing padding
        ({}, "invalid_input"),
        ({"plaintext_b64": b64(b"x"), "aad_b64": "!!"}, "invalid_input"),
    ],
)
def test_bad_encrypt_input(machine, body, code):
    key = _create(machine)
    response = _post(machine, f"/api/v1/keys/{key['id']}/encrypt", body)
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_bad_decrypt_input_is_a_clear_4xx(machine):
    key = _create(machine)
    other = _create(machine, alias="other")
    good = _post(
        machine, f"/api/v1/keys/{key['id']}/encrypt", {"plaintext_b64": b64(b"x"), "aad_b64": b64(b"a")}
    ).json()["ciphertext_b64"]
    raw = bytearray(base64.b64decode(good))
    raw[-1] ^= 1
    cases = [
        ({"ciphertext_b64": b64(bytes(raw)), "aad_b64": b64(b"a")}, key["id"], 400, "decryption_failed"),
        ({"ciphertext_b64": good, "aad_b64": b64(b"b")}, key["id"], 400, "decryption_failed"),
        ({"ciphertext_b64": good, "aad_b64": b64(b"a")}, other["id"], 400, "ciphertext_key_mismatch"),
        ({"ciphertext_b64": b64(b"short")}, key["id"], 400, "malformed_ciphertext"),
        ({"ciphertext_b64": b64(b"X" * 80)}, key["id"], 400, "malformed_ciphertext"),
    ]
    for body, key_id, status, code in cases:
        response = _post(machine, f"/api/v1/keys/{key_id}/decrypt", body)
        assert (response.status_code, response.json()["code"]) == (status, code), body


def test_a_forged_header_naming_another_key_fails_authentication(machine):
    """The header is authenticated: re-pointing a ciphertext at another version is caught."""
    key = _create(machine)
    good = base64.b64decode(
        _post(machine, f"/api/v1/keys/{key['id']}/encrypt", {"plaintext_b64": b64(b"x")}).json()["ciphertext_b64"]
    )
    lifecycle.key_rotate(key_id=key["id"], actor=SYSTEM, reason="r")
    forged = good[:20] + (2).to_bytes(4, "big") + good[24:]
    response = _post(machine, f"/api/v1/keys/{key['id']}/decrypt", {"ciphertext_b64": b64(forged)})
    assert response.json()["code"] == "decryption_failed"


def test_unknown_ids_and_aliases(machine):
    missing = "00000000-0000-0000-0000-000000000000"
    response = _post(machine, f"/api/v1/keys/{missing}/encrypt", {"plaintext_b64": b64(b"x")})
    assert (response.status_code, response.json()["code"]) == (404, "key_not_found")
    assert machine.get(f"/api/v1/keys/{missing}/").status_code == 404
    assert machine.get("/api/v1/keys/not-a-uuid/").status_code == 404
    response = _post(machine, "/api/v1/aliases/nobody/encrypt", {"plaintext_b64": b64(b"x")})
    assert (response.status_code, response.json()["code"]) == (409, "no_usable_key_for_alias")


@override_settings(SEQUESTER_GATE_MAX_PAYLOAD_BYTES=100, SEQUESTER_GATE_MAX_BATCH_ITEMS=3)
def test_limits(machine):
    key = _create(machine)
    response = _post(machine, f"/api/v1/keys/{key['id']}/encrypt", {"plaintext_b64": b64(b"x" * 101)})
    assert (response.status_code, response.json()["code"]) == (413, "payload_too_large")
    items = [{"plaintext_b64": b64(b"x")}] * 4
    response = _post(machine, f"/api/v1/keys/{key['id']}/encrypt-batch", {"items": items})
    assert (response.status_code, response.json()["code"]) == (413, "batch_too_large")


def test_malformed_json_and_wrong_types(machine):
    key = _create(machine)
    response = machine.post(f"/api/v1/keys/{key['id']}/encrypt", data="{nope", content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "malformed_request")
    response = machine.post(f"/api/v1/keys/{key['id']}/encrypt", data=json.dumps([1]), content_type="application/json")
    assert response.status_code == 400
    response = machine.post(
        f"/api/v1/keys/{key['id']}/encrypt", data="x=1", content_type="application/x-www-form-urlencoded"
    )
    assert (response.status_code, response.json()["code"]) == (415, "unsupported_media_type")
    response = _post(machine, "/api/v1/keys/", {"alias": "bad alias!", "purpose": "p"})
    assert response.status_code == 400


def test_destroyed_key_is_gone_410(machine):
    key = _create(machine)
    lifecycle.key_deactivate(key_id=key["id"], actor=SYSTEM, reason="r")
    lifecycle.key_destroy(key_id=key["id"], actor=SYSTEM, reason="r")
    response = _post(machine, f"/api/v1/keys/{key['id']}/encrypt", {"plaintext_b64": b64(b"x")})
    assert (response.status_code, response.json()["code"]) == (410, "key_destroyed")


def test_create_rejects_unknown_parent_and_custodian(machine):
    response = _post(
        machine, "/api/v1/keys/", {"alias": "a", "purpose": "p", "parent": "00000000-0000-0000-0000-000000000000"}
    )
    assert (response.status_code, response.json()["code"]) == (404, "key_not_found")
    response = _post(machine, "/api/v1/keys/", {"alias": "a", "purpose": "p", "custodian": "ghost"})
    assert (response.status_code, response.json()["code"]) == (400, "invalid_key_request")
    assert ManagedKey.objects.count() == 0  # nothing half-written


def test_pkcs11_without_configuration_is_a_400(machine, settings):
    """A backend this deployment does not offer is the caller's choice to change (not a server fault)."""
    from keyvault.backends import backends_reset

    settings.SEQUESTER_PKCS11_MODULE = None
    backends_reset()
    response = _post(machine, "/api/v1/keys/", {"alias": "a", "purpose": "p", "backend": "pkcs11"})
    assert (response.status_code, response.json()["code"]) == (400, "invalid_key_request")
    assert response.json()["backend"] == "pkcs11"
    assert ManagedKey.objects.count() == 0


def test_the_state_filter_and_the_state_field_speak_the_key_states(as_role, machine):
    """The API's state words are the lifecycle's: what a key is in is what it reads and filters as."""
    active, suspended, deactivated = (_create(machine, alias=a)["id"] for a in ("a", "s", "d"))
    lifecycle.key_suspend(key_ids=[suspended], actor=SYSTEM, reason="leak")
    lifecycle.key_deactivate(key_id=deactivated, actor=SYSTEM, reason="retired")
    responder = as_role(roles.SECURITY_LEAD)
    for key_id, state in (
        (active, KeyState.ACTIVE),
        (suspended, KeyState.SUSPENDED),
        (deactivated, KeyState.DEACTIVATED),
    ):
        assert responder.get(f"/api/v1/keys/{key_id}/").json()["state"] == state.value
        listed = responder.get("/api/v1/keys/quarantine/" if state == KeyState.SUSPENDED else "/api/v1/keys/")
        listed_ids = [k["id"] for k in listed.json()["results"] if k["state"] == state.value]
        assert key_id in listed_ids
