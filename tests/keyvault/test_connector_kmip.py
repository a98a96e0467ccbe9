"""KMIP connector, against PyKMIP's server on loopback (TLS client certificates made by the fixture).

The application is a KMIP client with its own certificate; Sequester has another.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from kmip.core import enums
from kmip.pie.client import ProxyKmipClient
from kmip.pie.exceptions import KmipOperationFailure

from audit.models import AuditEvent
from keyvault.models import KeyManager, ManagedKey
from keyvault.services import lifecycle, restriction
from keyvault.services.managers import key_manager_add, key_manager_sync
from keyvault.states import KeyState
from tests.incidents.conftest import cloudevent, post_signal
from tests.keyvault.conftest import SYSTEM, approved_restore
from webapp.errors import DomainError
from webapp.stack.key_managers import KmipDev, kmip_dev_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db, pytest.mark.usefixtures("fresh_connectors")]
CBC = {
    "cryptographic_algorithm": enums.CryptographicAlgorithm.AES,
    "block_cipher_mode": enums.BlockCipherMode.CBC,
    "padding_method": enums.PaddingMethod.PKCS5,
}


@pytest.fixture(scope="module")
def kmip() -> Iterator[KmipDev]:
    with kmip_dev_server(identities=["payments-app", "sequester", "stranger"]) as server:
        yield server


def client(kmip: KmipDev, identity: str) -> ProxyKmipClient:
    cert, key = kmip.clients[identity]
    c = ProxyKmipClient(hostname=kmip.host, port=kmip.port, cert=cert, key=key, ca=kmip.ca_path, config_file=os.devnull)
    c.open()
    return c


def register(kmip: KmipDev, name: str = "hsm") -> None:
    cert, key = kmip.clients["sequester"]
    key_manager_add(
        actor=SYSTEM,
        name=name,
        kind="kmip",
        url=f"{kmip.host}:{kmip.port}",
        credentials={"client_cert": Path(cert).read_text(), "client_key": Path(key).read_text()},
        options={"ca_pem": Path(kmip.ca_path).read_text()},
    )


def state_of(app: ProxyKmipClient, uid: str) -> str:
    _, attributes = app.get_attributes(uid, ["State"])
    return str(attributes[0].attribute_value.value.name)


def local_decrypt(app: ProxyKmipClient, uid: str, iv: bytes, ciphertext: bytes) -> bytes:
    """The documented decrypt path: Get the key (allowed in every state but destroyed) and decrypt here."""
    key = app.get(uid).value
    plain = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = plain.update(ciphertext) + plain.finalize()
    unpad = padding.PKCS7(128).unpadder()
    return unpad.update(padded) + unpad.finalize()


def test_acceptance_signal_deactivates_on_the_kmip_server_restore_and_compromise(
    kmip, detector, django_capture_on_commit_callbacks
):
    app = client(kmip, "payments-app")
    uid = app.create(
        enums.CryptographicAlgorithm.AES,
        256,
        operation_policy_name=kmip.policy_name,
        name="payments",
        cryptographic_usage_mask=[enums.CryptographicUsageMask.ENCRYPT, enums.CryptographicUsageMask.DECRYPT],
    )
    app.activate(uid)
    iv = os.urandom(16)
    ciphertext, _ = app.encrypt(b"card 4111", uid=uid, cryptographic_parameters=CBC, iv_counter_nonce=iv)
    register(kmip)
    assert "payments" in key_manager_sync(name="hsm", actor=SYSTEM).imported
    key = ManagedKey.objects.get(external_ref=f"hsm:{uid}")

    with django_capture_on_commit_callbacks(execute=True):
        assert post_signal(detector, cloudevent({"backend_ref": f"hsm:{uid}"})).status_code == 202
    key.refresh_from_db()
    assert key.key_state is KeyState.SUSPENDED
    assert key.restricted_at is not None
    assert state_of(app, uid) == "DEACTIVATED"  # KMIP's "process only, no protect"
    assert AuditEvent.objects.filter(
        action="key.restricted", subject_id=str(key.id), reason="decrypt-only on the manager: verified"
    ).exists()
    # Through the application's own KMIP client: encrypt refused by the server.
    with pytest.raises(KmipOperationFailure, match="Active state"):
        app.encrypt(b"more", uid=uid, cryptographic_parameters=CBC, iv_counter_nonce=iv)
    # PyKMIP's server refuses server-side Decrypt too once the object is not Active (a limit of that
    # server; the protocol allows it): the documented decrypt path still reads the data.
    with pytest.raises(KmipOperationFailure, match="Active state"):
        app.decrypt(ciphertext, uid=uid, cryptographic_parameters=CBC, iv_counter_nonce=iv)
    assert local_decrypt(app, uid, iv, ciphertext) == b"card 4111"
    # Nobody re-enables it behind Sequester's back: the protocol has no way back from Deactivated.
    with pytest.raises(KmipOperationFailure, match="not pre-active"):
        app.activate(uid)
    assert restriction.restrictions_verify_all(actor=SYSTEM) == []

    # Restore: an Active copy of the same key under the same Name (KMIP cannot reactivate).
    lifecycle.key_restore(key_id=key.id, actor=SYSTEM, reason="false positive (quorum)", approval=approved_restore(key))
    key.refresh_from_db()
    new_uid = bytes(key.versions.get().material).decode()
    assert new_uid != uid
    assert key.external_ref == f"hsm:{new_uid}"
    assert state_of(app, new_uid) == "ACTIVE"
    assert app.decrypt(ciphertext, uid=new_uid, cryptographic_parameters=CBC, iv_counter_nonce=iv) == b"card 4111"
    again, _ = app.encrypt(b"again", uid=new_uid, cryptographic_parameters=CBC, iv_counter_nonce=iv)
    assert app.decrypt(again, uid=new_uid, cryptographic_parameters=CBC, iv_counter_nonce=iv) == b"again"

    # Compromise: Revoke with KeyCompromise, verified with Get Attributes.
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.key_compromise(key_id=key.id, actor=SYSTEM, reason="confirmed", incident="INC-1")
    key.refresh_from_db()
    assert state_of(app, new_uid) == "COMPROMISED"
    assert key.restricted_at is not None
    assert local_decrypt(app, new_uid, iv, ciphertext) == b"card 4111"
    replacement = lifecycle.key_replace(key_id=key.id, actor=SYSTEM, reason="replace", incident="INC-1")
    successor = bytes(replacement.versions.get().material).decode()
    assert state_of(app, successor) == "ACTIVE"
    _, names = app.get_attributes(successor, ["Name"])
    assert names[0].attribute_value.name_value.value == "payments"
    app.close()


def test_a_foreign_certificate_and_an_unknown_object_get_stable_codes(kmip):
    cert, key = kmip.clients["sequester"]
    with pytest.raises(DomainError) as bad:
        key_manager_add(
            actor=SYSTEM,
            name="hsm",
            kind="kmip",
            url=f"{kmip.host}:{kmip.port}",
            credentials={"client_cert": Path(cert).read_text(), "client_key": Path(key).read_text()},
            options={},  # no CA: the server's certificate cannot be verified
        )
    assert bad.value.code in ("key_manager_denied", "key_manager_unreachable")
    with pytest.raises(DomainError) as down:
        key_manager_add(
            actor=SYSTEM,
            name="hsm",
            kind="kmip",
            url="127.0.0.1:9",
            credentials={"client_cert": Path(cert).read_text(), "client_key": Path(key).read_text()},
        )
    assert down.value.code == "key_manager_unreachable"
    register(kmip)
    imported = ManagedKey.objects.create(
        alias="ghost",
        purpose="t",
        backend="manager",
        manager=KeyManager.objects.get(name="hsm"),
        external_ref="hsm:999999",
        state="active",
    )
    imported.versions.create(version=1, material=b"999999", fingerprint="")
    lifecycle.key_suspend(key_ids=[imported.id], actor=SYSTEM, reason="t")
    with pytest.raises(DomainError) as unknown:
        restriction.key_restrict(key_id=imported.id, actor=SYSTEM)
    assert unknown.value.code == "key_manager_unknown_key"
