"""Key managers without a server: settings and errors, sealed credentials, the admin, signal resolution,
the policy texts the connectors write, and how a key's restriction is shown."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from audit.models import AuditEvent
from incidents.cloudevents import KeyReference
from incidents.services.resolve import key_resolve
from keyvault.backends import aws_kms, transit
from keyvault.models import KeyManager, ManagedKey
from keyvault.selectors import key_restriction_status
from keyvault.services.connectors import credentials_seal, credentials_unseal
from keyvault.services.managers import key_manager_add
from keyvault.states import KeyState
from tests.keyvault.conftest import SYSTEM
from webapp.errors import DomainError

pytestmark = pytest.mark.django_db
TOKEN = "s.VERY-SECRET-TOKEN-123"


def manager(name: str = "bao", kind: str = "openbao") -> KeyManager:
    return KeyManager.objects.create(
        name=name, kind=kind, url="http://127.0.0.1:9", sealed_credentials=credentials_seal(name, {"token": TOKEN})
    )


def managed(mgr: KeyManager, ident: str, material: bytes, *, alias: str = "payments", state: str = "active"):
    key = ManagedKey.objects.create(
        alias=alias, purpose="t", backend="manager", manager=mgr, external_ref=f"{mgr.name}:{ident}", state=state
    )
    key.versions.create(version=1, material=material, fingerprint="")
    return key


def test_credentials_are_sealed_bound_to_the_manager_and_never_audited():
    mgr = manager()
    assert TOKEN.encode() not in bytes(mgr.sealed_credentials)
    assert credentials_unseal(mgr) == {"token": TOKEN}
    renamed = KeyManager(name="other", sealed_credentials=mgr.sealed_credentials)
    from cryptography.exceptions import InvalidTag

    with pytest.raises(InvalidTag):  # AES-GCM refuses a blob moved to another manager
        credentials_unseal(renamed)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"kind": "openbao", "url": "http://127.0.0.1:9", "credentials": {}}, "invalid_key_request"),
        ({"kind": "nope", "url": "x", "credentials": {"token": "t"}}, "invalid_key_request"),
        ({"kind": "openbao", "url": "ftp://x", "credentials": {"token": "t"}}, "key_manager_invalid"),
        ({"kind": "openbao", "url": "http://127.0.0.1:9", "credentials": {"token": TOKEN}}, "key_manager_unreachable"),
        (
            {"kind": "kmip", "url": "nohostport", "credentials": {"client_cert": "c", "client_key": "k"}},
            "key_manager_invalid",
        ),
        ({"kind": "aws-kms", "url": "", "credentials": {}}, "invalid_key_request"),
    ],
)
def test_bad_settings_get_a_stable_code_and_nothing_is_stored(kwargs, code, caplog):
    with pytest.raises(DomainError) as refused:
        key_manager_add(actor=SYSTEM, name="m1", **kwargs)
    assert refused.value.code == code
    assert not KeyManager.objects.exists()
    assert TOKEN not in caplog.text
    assert TOKEN not in str(refused.value)


def test_the_command_reads_secrets_from_files_and_reports_the_code(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    with pytest.raises(CommandError, match="key_manager_unreachable"):
        call_command(
            "key_manager_add",
            "bao",
            "--kind",
            "openbao",
            "--url",
            "http://127.0.0.1:9",
            "--token-file",
            str(token_file),
        )
    with pytest.raises(CommandError, match="cannot read"):
        call_command(
            "key_manager_add", "bao", "--kind", "openbao", "--url", "http://x", "--token-file", str(tmp_path / "no")
        )
    with pytest.raises(CommandError, match="key_manager_not_found"):
        call_command("key_manager_sync", "nope")


def test_the_admin_tests_the_connection_before_saving():
    admin = User.objects.create_superuser("root", "root@example.test", "pw")
    client = Client()
    client.force_login(admin)
    data = {
        "name": "bao",
        "kind": "openbao",
        "url": "http://127.0.0.1:9",
        "mount": "transit",
        "governed_policy": "default",
        "options": "{}",
        "token": TOKEN,
    }
    response = client.post("/admin/keyvault/keymanager/add/", data)
    assert response.status_code == 200
    assert "key_manager_unreachable" in response.content.decode()
    assert TOKEN not in response.content.decode()  # a password field is not echoed back
    assert not KeyManager.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="key_manager.").exists()


def test_signals_resolve_manager_keys_by_backend_ref_arn_uid_and_the_managers_own_reference():
    bao, aws, hsm = manager("bao"), manager("aws", "aws-kms"), manager("hsm", "kmip")
    arn = "arn:aws:kms:eu-west-1:123456789012:key/1dd3962c-15fd-4947-ac9a-57422b3ce47e"
    transit_key = managed(bao, "payments", b"payments#1")
    kms_key = managed(aws, "1dd3962c-15fd-4947-ac9a-57422b3ce47e", arn.encode(), alias="billing")
    kmip_key = managed(hsm, "42", b"42", alias="ledger")
    resolved = {
        "bao:payments": transit_key,
        "payments#1": transit_key,
        arn: kms_key,
        "aws:1dd3962c-15fd-4947-ac9a-57422b3ce47e": kms_key,
        "hsm:42": kmip_key,
        "42": kmip_key,
    }
    for value, key in resolved.items():
        assert key_resolve(KeyReference("backend_ref", value)) == key, value
    assert key_resolve(KeyReference("backend_ref", "bao:unknown")) is None
    # A key and its replacement share a transit name: the active one answers.
    transit_key.state = "compromised"
    transit_key.save()
    replacement = managed(bao, "payments", b"payments#2")
    assert key_resolve(KeyReference("backend_ref", "bao:payments")) == replacement


def test_the_restriction_shown_to_the_commander():
    bao = manager()
    key = managed(bao, "payments", b"payments#1", state=KeyState.SUSPENDED.value)
    key.restriction_pending = "key_manager_unreachable: bao: cannot reach http://127.0.0.1:9"
    assert key_restriction_status(key) == (
        "pending on the manager (key_manager_unreachable: bao: cannot reach http://127.0.0.1:9)"
    )
    key.restriction_pending = "requested"
    assert key_restriction_status(key) == "pending on the manager"
    from django.utils import timezone

    key.restricted_at = timezone.now()
    assert key_restriction_status(key) == "decrypt-only on the manager: verified"


def test_transit_policy_edits_add_and_remove_exactly_one_block_per_key():
    base = 'path "auth/token/lookup-self" {\n  capabilities = ["read"]\n}\n'
    once = transit.policy_with(base, "transit", ["a", "b"])
    assert transit.policy_with(once, "transit", ["a"]) == once
    assert transit.policy_without(once, "transit", ["a", "b"]).strip() == base.strip()
    block = transit.deny_block("transit", "a")
    for path in ("transit/encrypt/a", "transit/datakey/plaintext/a", "transit/datakey/wrapped/a", "transit/rewrap/a"):
        assert f'path "{path}" {{\n  capabilities = ["deny"]\n}}' in block
    assert "decrypt" not in block.split("\n", 1)[1]
    tampered = once.replace('["deny"]', '["update"]', 1)
    repaired = transit.policy_with(tampered, "transit", ["a", "b"])
    assert block in repaired
    assert repaired.count("sequester:deny-begin transit/a ") == 1
    lines = lambda text: [line for line in text.splitlines() if line.strip()]  # noqa: E731 - blank lines aside
    assert lines(transit.policy_without(once, "transit", ["a"])) == lines(transit.policy_with(base, "transit", ["b"]))
    assert transit.denied(once, "transit") == {"a", "b"}
    assert transit.denied(tampered, "transit") == {"b"}


def test_kms_statements_deny_encryption_to_everyone_and_keep_decrypt():
    policy = {"Version": "2012-10-17", "Statement": [{"Sid": "Root", "Effect": "Allow", "Action": "kms:*"}]}
    restricted = aws_kms.policy_with(policy, ["arn:aws:iam::1:role/reader"])
    sids = [s.get("Sid") for s in restricted["Statement"]]
    assert sids == ["Root", aws_kms.DENY_SID, aws_kms.REENCRYPT_SID]
    assert aws_kms.policy_with(restricted, ["arn:aws:iam::1:role/reader"]) == restricted
    assert aws_kms.policy_without(restricted) == policy
    assert "kms:Decrypt" not in json.dumps(restricted)
