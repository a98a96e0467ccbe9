"""Approvers with authenticators, and helpers to open requests and decide as a person would."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from django.contrib.auth.models import User

from approvals import policies
from approvals.models import ApprovalRequest, Decision, TotpDevice
from approvals.services import decisions, requests, stepup
from audit.actors import Actor
from keyvault.services import lifecycle
from keyvault.states import KeyState
from tests.keyvault.conftest import SYSTEM, make_key
from tests.webauthn_soft import SoftAuthenticator
from webapp import roles
from webapp.sealing import unseal


def actor(user: User) -> Actor:
    return Actor.for_user(user)


def register(user: User) -> SoftAuthenticator:
    authenticator = SoftAuthenticator()
    options = stepup.webauthn_registration_begin(user=user)
    stepup.webauthn_registration_finish(
        user=user, credential=authenticator.register(options), name="soft", actor=actor(user)
    )
    return authenticator


def setup_totp(user: User) -> pyotp.TOTP:
    secret, _, _ = stepup.totp_setup_begin(user=user)
    totp = pyotp.TOTP(secret)
    device = TotpDevice.objects.get(user=user)
    assert unseal("totp", bytes(device.secret_sealed), context=str(user.pk).encode()).decode() == secret
    stepup.totp_setup_confirm(user=user, code=totp.now(), actor=actor(user))
    return totp


def decide(
    user: User,
    request: ApprovalRequest,
    verdict: str = "approve",
    *,
    authenticator: SoftAuthenticator | None = None,
    totp: str | None = None,
    reason: str = "looked at the evidence",
    role: str | None = None,
) -> Decision:
    challenge, options = decisions.decision_challenge_issue(
        request_id=request.id, approver=user, verdict=verdict, reason=reason, role=role
    )
    webauthn = authenticator.sign(options) if authenticator is not None and options else None
    return decisions.approval_decide(
        challenge_id=challenge.id, approver=user, actor=actor(user), webauthn=webauthn, totp=totp
    )


@pytest.fixture
def people(make_user: Callable[..., User]) -> dict[str, User]:
    """One person per role, with an email address, plus a second security lead."""
    made = {}
    for slug in (roles.COMMANDER, roles.SECURITY_LEAD, roles.KEY_CUSTODIAN, roles.LEGAL_DPO, roles.CISO, roles.AUDITOR):
        user = make_user(f"p-{slug}", slug)
        user.email = f"{slug}@example.test"
        user.save()
        made[slug] = user
    lead2 = make_user("p-security_lead-2", roles.SECURITY_LEAD)
    lead2.email = "lead2@example.test"
    lead2.save()
    made["security_lead_2"] = lead2
    return made


@pytest.fixture
def authenticators(people: dict[str, User]) -> dict[str, SoftAuthenticator]:
    return {name: register(user) for name, user in people.items()}


@pytest.fixture
def compromised_key() -> Any:
    key, _ = make_key("local", KeyState.COMPROMISED, alias="leaked")
    return key


def open_request(action: str, requester: User, payload: dict[str, Any], *, incident: str = "INC-1") -> ApprovalRequest:
    return requests.approval_request_open(
        action=action,
        payload=payload,
        reason="needed for the incident",
        requested_by=requester,
        actor=actor(requester),
        incident=incident,
    )


def grant_payload(key: Any, principal: str = "p-commander") -> dict[str, Any]:
    return {"key": str(key.id), "principal": principal, "purpose": "forensics", "valid_hours": 2, "operation_budget": 5}


def suspended_key(alias: str = "suspect") -> Any:
    key = lifecycle.key_create(actor=SYSTEM, alias=alias, purpose="tests")
    lifecycle.key_suspend(key_ids=[key.id], actor=SYSTEM, reason="signal")
    return key


__all__ = ["decide", "grant_payload", "open_request", "policies", "setup_totp", "suspended_key", "timedelta"]
