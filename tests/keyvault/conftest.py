"""Key custody fixtures: both backends (SoftHSM2 token per session), principals, keys in every state."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from audit.actors import Actor
from keyvault import ciphertext as ct
from keyvault.backends import backends_reset
from keyvault.backends.softhsm import softhsm_token_ensure
from keyvault.models import ManagedKey
from keyvault.services import gate, lifecycle, restriction
from keyvault.states import RESTRICTED, KeyState
from keyvault.types import Principal, UseContext
from webapp import roles
from webapp.services.api_tokens import api_token_issue

SYSTEM = Actor.system("tests")
PLAINTEXT = b"card 4111 1111 1111 1111"
AAD = b"tenant=42"


@pytest.fixture(scope="session")
def softhsm_env() -> dict[str, str]:
    """One SoftHSM2 token for the session. SOFTHSM2_CONF must be set before the library loads."""
    directory = Path(tempfile.mkdtemp(prefix="sqr-softhsm-"))
    env = softhsm_token_ensure(directory, label="sequester-tests", pin="4321", so_pin="87654321")
    os.environ["SOFTHSM2_CONF"] = env["SOFTHSM2_CONF"]
    return env


@pytest.fixture(params=["local", "pkcs11"])
def backend(request: pytest.FixtureRequest, settings, softhsm_env) -> Iterator[str]:
    settings.SEQUESTER_PKCS11_MODULE = softhsm_env["SEQUESTER_PKCS11_MODULE"]
    settings.SEQUESTER_PKCS11_TOKEN_LABEL = softhsm_env["SEQUESTER_PKCS11_TOKEN_LABEL"]
    settings.SEQUESTER_PKCS11_PIN = softhsm_env["SEQUESTER_PKCS11_PIN"]
    backends_reset()
    yield request.param
    backends_reset()


@pytest.fixture
def gate_user(db: None) -> User:
    """A service account: may use the gate, is no incident responder."""
    return api_token_issue(service_account="payments-app", name="tests", valid_days=1).token.user


@pytest.fixture
def app(gate_user: User) -> Principal:
    return Principal.for_user(gate_user)


@pytest.fixture
def responder(make_user: Callable[..., User]) -> Principal:
    """An incident commander: incident-response permission, no gate permission."""
    return Principal.for_user(make_user("responder", roles.COMMANDER))


@pytest.fixture
def custodian(make_user: Callable[..., User]) -> Principal:
    """A key custodian: both the gate and the incident-response permission."""
    return Principal.for_user(make_user("custodian", roles.KEY_CUSTODIAN))


FORENSICS = UseContext(justification="forensic read of leaked records", incident="INC-1", affected_system="billing-db")


def grant(key: ManagedKey, principal: str, *, budget: int = 100, purpose: str = "forensics") -> None:
    """An approved decrypt grant, as the approvals quorum would create it."""
    from datetime import timedelta

    from keyvault.services.grants import decrypt_grant_create

    decrypt_grant_create(
        key_id=key.id,
        principal=principal,
        purpose=purpose,
        valid_for=timedelta(hours=1),
        operation_budget=budget,
        actor=SYSTEM,
        incident="INC-1",
    )


def approved_restore(*keys: ManagedKey, incident: str = "INC-1") -> str:
    """An approved restore_false_positive request naming ``keys`` (as the quorum leaves it); its id."""
    from datetime import timedelta

    from django.utils import timezone

    from approvals.models import ApprovalRequest
    from approvals.policies import RESTORE_FALSE_POSITIVE, policy_current

    requester, _ = User.objects.get_or_create(username="restore-requester")
    request = ApprovalRequest.objects.create(
        policy=policy_current(RESTORE_FALSE_POSITIVE),
        action=RESTORE_FALSE_POSITIVE,
        subject_type="incident",
        subject_id=incident,
        incident=incident,
        payload={"details": {"keys": [str(key.id) for key in keys], "incident": incident}},
        payload_hash="0" * 64,
        reason="false positive",
        requested_by=requester,
        expires_at=timezone.now() + timedelta(hours=1),
        status=ApprovalRequest.Status.APPROVED,
        closed_at=timezone.now(),
    )
    return str(request.id)


def job_grant(key: ManagedKey, job: str, *, budget: int = 1_000_000) -> Principal:
    """A rewrap job with its own grant on ``key``; returns the job's principal."""
    from datetime import timedelta

    from keyvault.services.grants import decrypt_grant_for_job

    decrypt_grant_for_job(
        job=job,
        key_ids=[key.id],
        incident="INC-1",
        operation_budget=budget,
        actor=SYSTEM,
        valid_for=timedelta(hours=1),
    )
    return Principal.for_rewrap_job(job)


def make_key(
    backend: str, state: KeyState, *, alias: str = "payments", app: Principal | None = None, **kwargs
) -> tuple[ManagedKey, bytes]:
    """A key in ``state`` (backend restriction applied) and a ciphertext naming it: one it made while
    active, or for a pre-active key (which never encrypted) a well-formed envelope with a random body."""
    key = lifecycle.key_create(
        actor=SYSTEM, alias=alias, purpose="tests", backend=backend, activate=state is not KeyState.PRE_ACTIVE, **kwargs
    )
    sealed = ct.pack(ct.header_for(key.id, 1, os.urandom(ct.NONCE_BYTES)), os.urandom(32))
    if state is not KeyState.PRE_ACTIVE:
        principal = app or Principal.for_rewrap_job("fixture")
        (sealed,) = gate.gate_encrypt(key_id=key.id, items=[gate.EncryptItem(PLAINTEXT, AAD)], principal=principal)
    path = {
        KeyState.PRE_ACTIVE: [],
        KeyState.ACTIVE: [],
        KeyState.SUSPENDED: ["suspend"],
        KeyState.DEACTIVATED: ["deactivate"],
        KeyState.COMPROMISED: ["compromise"],
        KeyState.DESTROYED: ["deactivate", "destroy"],
        KeyState.DESTROYED_COMPROMISED: ["compromise", "destroy"],
    }[state]
    for step in path:
        if step == "suspend":
            lifecycle.key_suspend(key_ids=[key.id], actor=SYSTEM, reason="signal")
        elif step == "deactivate":
            lifecycle.key_deactivate(key_id=key.id, actor=SYSTEM, reason="retired")
        elif step == "compromise":
            lifecycle.key_compromise(key_id=key.id, actor=SYSTEM, reason="confirmed", incident="INC-1")
        elif step == "destroy":
            lifecycle.key_destroy(key_id=key.id, actor=SYSTEM, reason="end of life")
    if state in RESTRICTED:
        restriction.key_restrict(key_id=key.id, actor=SYSTEM)
    key.refresh_from_db()
    assert key.key_state is state
    return key, sealed
