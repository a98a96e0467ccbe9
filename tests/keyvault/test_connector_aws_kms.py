"""AWS KMS connector, against moto's standalone server on loopback.

moto is an emulator: it stores key policies but does not evaluate them, so an application's Encrypt
still succeeds against it after containment. These tests check the policy written and read back, the
alias moves and ReEncrypt (which moto does perform), and what Sequester itself refuses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from audit.models import AuditEvent
from keyvault.backends.aws_kms import DENY_SID, REENCRYPT_SID, statements
from keyvault.backends.base import AeadBatch, BackendRefused
from keyvault.backends.managers import ManagerConnector
from keyvault.errors import KeyNotFound
from keyvault.models import ManagedKey
from keyvault.services import gate, lifecycle, restriction
from keyvault.services.managers import key_manager_add, key_manager_sync
from keyvault.services.versions import key_backend, version_ref
from keyvault.states import KeyState
from tests.incidents.conftest import cloudevent, post_signal
from tests.keyvault.conftest import SYSTEM, approved_restore
from webapp.errors import DomainError
from webapp.stack.key_managers import moto_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
READER = "arn:aws:iam::123456789012:role/payments-reader"
CREDENTIALS = {"access_key_id": "testing", "secret_access_key": "testing"}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def kms(endpoint, fresh_connectors):
    client = boto3.client(
        "kms", region_name="eu-west-1", endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="x"
    )
    # moto's state lives in the server: start every test from an empty account.
    for page in client.get_paginator("list_keys").paginate():
        for entry in page["Keys"]:
            meta = client.describe_key(KeyId=entry["KeyId"])["KeyMetadata"]
            if meta["KeyState"] != "PendingDeletion":
                client.schedule_key_deletion(KeyId=entry["KeyId"], PendingWindowInDays=7)
    for alias in client.list_aliases()["Aliases"]:
        if not alias["AliasName"].startswith("alias/aws/"):
            client.delete_alias(AliasName=alias["AliasName"])
    return client


def policy_sids(kms, arn: str) -> set[str]:
    return {
        s.get("Sid", "") for s in json.loads(kms.get_key_policy(KeyId=arn, PolicyName="default")["Policy"])["Statement"]
    }


def test_acceptance_on_kms_policy_written_read_back_restore_drift_and_replacement(
    kms, endpoint, detector, app, django_capture_on_commit_callbacks
):
    created = kms.create_key(Description="payments")["KeyMetadata"]
    kms.create_alias(AliasName="alias/payments", TargetKeyId=created["KeyId"])
    blob = kms.encrypt(KeyId="alias/payments", Plaintext=b"card 4111")["CiphertextBlob"]
    key_manager_add(
        actor=SYSTEM,
        name="aws",
        kind="aws-kms",
        url=endpoint,
        region="eu-west-1",
        credentials=CREDENTIALS,
        options={"decrypt_roles": [READER]},
    )
    assert key_manager_sync(name="aws", actor=SYSTEM).imported == ["payments"]
    key = ManagedKey.objects.get(external_ref=f"aws:{created['KeyId']}")
    assert bytes(key.versions.get().material).decode() == created["Arn"]

    # The signal names the key by its ARN.
    with django_capture_on_commit_callbacks(execute=True):
        assert post_signal(detector, cloudevent({"backend_ref": created["Arn"]})).status_code == 202
    key.refresh_from_db()
    assert key.key_state is KeyState.SUSPENDED
    assert key.restricted_at is not None
    written = json.loads(kms.get_key_policy(KeyId=created["Arn"], PolicyName="default")["Policy"])["Statement"]
    ours = {s["Sid"]: s for s in written if s.get("Sid") in (DENY_SID, REENCRYPT_SID)}
    assert ours[DENY_SID]["Action"] == ["kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncryptTo"]
    assert ours[DENY_SID]["Principal"] == {"AWS": "*"}
    assert ours[DENY_SID]["Effect"] == "Deny"
    assert ours[REENCRYPT_SID]["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": [READER]}}
    assert all("kms:Decrypt" not in json.dumps(s["Action"]) for s in ours.values())  # Decrypt kept
    assert AuditEvent.objects.filter(
        action="key.restricted", subject_id=str(key.id), reason="decrypt-only on the manager: verified"
    ).exists()
    # What Sequester itself refuses: its gate (a quarantined key does not exist for the application),
    # and its connector (applications encrypt on KMS, not through the gate).
    with pytest.raises(KeyNotFound):
        gate.gate_encrypt(key_id=key.id, items=[gate.EncryptItem(b"x")], principal=app)
    with pytest.raises(BackendRefused):
        key_backend(key).encrypt(version_ref(key.versions.get()), AeadBatch([b"0" * 12], [b"x"], [b""]))
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"card 4111"

    # Restore removes exactly the two statements.
    lifecycle.key_restore(key_id=key.id, actor=SYSTEM, reason="false positive (quorum)", approval=approved_restore(key))
    assert not policy_sids(kms, created["Arn"]) & {DENY_SID, REENCRYPT_SID}

    # Drift: an administrator removes the statements behind Sequester's back.
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.key_suspend(key_ids=[key.id], actor=SYSTEM, reason="signal again", incident="INC-2")
    policy = json.loads(kms.get_key_policy(KeyId=created["Arn"], PolicyName="default")["Policy"])
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != DENY_SID]
    kms.put_key_policy(KeyId=created["Arn"], PolicyName="default", Policy=json.dumps(policy))
    with django_capture_on_commit_callbacks(execute=True):
        findings = restriction.restrictions_verify_all(actor=SYSTEM)
    assert [f.key_id for f in findings] == [str(key.id)]
    assert findings[0].repaired
    assert {DENY_SID, REENCRYPT_SID} <= policy_sids(kms, created["Arn"])

    # Compromise and replacement through the alias; ReEncrypt inside KMS.
    lifecycle.key_compromise(key_id=key.id, actor=SYSTEM, reason="confirmed", incident="INC-2")
    replacement = lifecycle.key_replace(key_id=key.id, actor=SYSTEM, reason="replace", incident="INC-2")
    new_arn = bytes(replacement.versions.get().material).decode()
    assert new_arn != created["Arn"]
    assert replacement.key_state is KeyState.ACTIVE
    target = {a["AliasName"]: a["TargetKeyId"] for a in kms.list_aliases()["Aliases"]}["alias/payments"]
    assert target == new_arn.rsplit("/", 1)[-1]  # the alias moved
    assert not policy_sids(kms, new_arn) & {DENY_SID, REENCRYPT_SID}  # the old policy, less our statements
    connector = key_backend(key)
    assert isinstance(connector, ManagerConnector)
    (moved,) = connector.rewrap(version_ref(key.versions.get()), version_ref(replacement.versions.get()), [blob])
    answer = kms.decrypt(CiphertextBlob=moved)
    assert answer["Plaintext"] == b"card 4111"
    assert answer["KeyId"] == new_arn


def test_statements_are_exact_and_wrong_settings_get_stable_codes(kms, endpoint):
    assert statements([])[1].get("Condition") is None  # no named role: nobody moves data off the key
    with pytest.raises(DomainError) as missing:
        key_manager_add(actor=SYSTEM, name="aws", kind="aws-kms", url=endpoint, credentials=CREDENTIALS)
    assert missing.value.code == "invalid_key_request"
    with pytest.raises(DomainError) as down:
        key_manager_add(
            actor=SYSTEM,
            name="aws",
            kind="aws-kms",
            url="http://127.0.0.1:9",
            region="eu-west-1",
            credentials=CREDENTIALS,
        )
    assert down.value.code == "key_manager_unreachable"
