"""Approvers with authenticators, and helpers to open requests and decide as a person would."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from django.contrib.auth.models import User

from approvals import policies
from approvals.models import ApprovalRequest, Decision, FactorChange, TotpDevice
from approvals.services import decisions, factors, requests
from approvals.services.policy_changes import policy_change_propose
from audit.actors import Actor
from keyvault.services import lifecycle
from keyvault.states import KeyState
from tests.conftest import PASSWORD
from tests.keyvault.conftest import SYSTEM, make_key
from tests.webauthn_soft import SoftAuthenticator
from webapp import roles
from webapp.sealing import unseal


def actor(user: User) -> Actor:
    return Actor.for_user(user)


# The soft authenticators registered by ``register`` (by user): proving a later change signs with them.
_registered: dict[tuple[int, str], SoftAuthenticator] = {}


def prove(user: User, *, authenticator: SoftAuthenticator | None = None) -> FactorChange:
    """A proven factor change, as the person would make it: with their authenticator, or the password."""
    change, options = factors.factor_change_begin(user=user)
    if not factors.user_has_factor(user):
        return factors.factor_change_prove(change_id=change.id, user=user, actor=actor(user), password=PASSWORD)
    authenticator = authenticator or _registered[(user.pk, user.username)]
    assert options is not None
    return factors.factor_change_prove(
        change_id=change.id, user=user, actor=actor(user), webauthn=authenticator.sign(options)
    )


def register(user: User) -> SoftAuthenticator:
    change = prove(user)
    authenticator = SoftAuthenticator()
    options = factors.webauthn_registration_begin(user=user, change_id=change.id)
    factors.webauthn_registration_finish(
        user=user, change_id=change.id, credential=authenticator.register(options), name="soft", actor=actor(user)
    )
    _registered[(user.pk, user.username)] = authenticator
    return authenticator


def setup_totp(user: User) -> pyotp.TOTP:
    change = prove(user)
    secret, _, _ = factors.totp_setup_begin(user=user, change_id=change.id)
    totp = pyotp.TOTP(secret)
    factors.totp_setup_confirm(user=user, change_id=change.id, code=totp.now(), actor=actor(user))
    device = TotpDevice.objects.get(user=user)
    assert unseal("totp", bytes(device.secret_sealed), context=str(user.pk).encode()).decode() == secret
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


def policy_admin() -> User:
    admin, _ = User.objects.get_or_create(username="policy-admin", defaults={"is_staff": True, "is_superuser": True})
    return admin


def change_policy(
    action: str, fields: dict[str, Any], people: dict[str, User], authenticators: dict[str, SoftAuthenticator]
) -> ApprovalRequest:
    """Propose a policy change as an administrator and have it approved (a CISO and a security lead)."""
    admin = policy_admin()
    request = policy_change_propose(action=action, fields=fields, reason="tests", proposed_by=admin, actor=actor(admin))
    decide(people[roles.CISO], request, authenticator=authenticators[roles.CISO])
    decide(people[roles.SECURITY_LEAD], request, authenticator=authenticators[roles.SECURITY_LEAD])
    request.refresh_from_db()
    assert request.status == "approved", request.status
    return request


def grant_payload(key: Any, principal: str = "p-commander") -> dict[str, Any]:
    return {"key": str(key.id), "principal": principal, "purpose": "forensics", "valid_hours": 2, "operation_budget": 5}


def suspended_key(alias: str = "suspect") -> Any:
    key = lifecycle.key_create(actor=SYSTEM, alias=alias, purpose="tests")
    lifecycle.key_suspend(key_ids=[key.id], actor=SYSTEM, reason="signal")
    return key


__all__ = [
    "change_policy",
    "decide",
    "grant_payload",
    "open_request",
    "policies",
    "prove",
    "setup_totp",
    "suspended_key",
    "timedelta",
]
