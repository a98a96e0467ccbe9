"""Hole 4: one admin weakens an approval policy, unaudited.

The attack (reproduced on the code before issue 11): the admin edits the ``encryption_exception``
policy to "1 key custodian, requester allowed, TOTP allowed"; the custodian asks for an exception on
a compromised key, approves it alone with a TOTP code, and a service encrypts with the key. No audit
event recorded the policy change.

Wanted: saving in the admin only proposes (a ``policy_change`` request with the diff); an edit below
the action's floor is refused; a policy stored below its floor (written by hand) is raised to it when
decided; a change takes effect only once approved, and its publication is in the hash chain.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from approvals import policies
from approvals.errors import SeparationOfDuties, TotpNotAllowed
from approvals.models import ApprovalPolicy, ApprovalRequest
from audit.models import AuditEvent
from audit.verification import audit_verify_database
from keyvault.errors import KeyNotFound, KeyNotUsableForEncryption
from keyvault.models import EncryptionException
from keyvault.services import gate
from keyvault.types import Principal, UseContext
from tests.approvals.conftest import actor, decide, open_request, setup_totp
from webapp import roles

pytestmark = pytest.mark.django_db

WEAK = {"requirements": [{"roles": [roles.KEY_CUSTODIAN], "count": 1}], "exclude_requester": False, "allow_totp": True}


def policy_admin() -> User:
    admin, _ = User.objects.get_or_create(username="policy-admin", defaults={"is_staff": True, "is_superuser": True})
    return admin


def _admin_form(policy: ApprovalPolicy, **changes: object) -> dict[str, str]:
    """The admin change form of ``policy`` as a browser posts it, with ``changes`` applied."""
    values = {name: getattr(policy, name) for name in policies.POLICY_FIELDS} | changes
    form = {
        "description": values["description"],
        "requirements": json.dumps(values["requirements"]),
        "expires_after_seconds": str(values["expires_after_seconds"]),
        "reminder_after_seconds": json.dumps(values["reminder_after_seconds"]),
        "escalate_after_seconds": ""
        if values["escalate_after_seconds"] is None
        else str(values["escalate_after_seconds"]),
        "escalation_role": values["escalation_role"],
        "step_up_max_age_seconds": str(values["step_up_max_age_seconds"]),
        "parameters": json.dumps(values["parameters"]),
        "change_reason": "make exceptions quicker",
    }
    for flag in ("exclude_requester", "veto_on_reject", "allow_totp"):
        if values[flag]:
            form[flag] = "on"
    return form


def _exception_payload(key) -> dict[str, object]:
    return {
        "key": str(key.id),
        "principal": "payments-app",
        "purpose": "batch",
        "valid_hours": 1,
        "operation_budget": 5,
    }


def _encrypts(key) -> bool:
    """Whether the service the exception names can encrypt with the key (for the purpose it names)."""
    app, _ = User.objects.get_or_create(username="payments-app")
    app.groups.add(Group.objects.get(name=roles.SERVICE_ACCOUNT))
    try:
        gate.gate_encrypt(
            key_id=key.id,
            items=[gate.EncryptItem(b"x", b"")],
            principal=Principal.for_user(app),
            context=UseContext(purpose="batch"),
        )
    except (KeyNotUsableForEncryption, KeyNotFound):  # refused; outside incident response it is not even found
        return False
    return True


def test_one_admin_cannot_weaken_the_exception_policy_and_self_approve(client, people, compromised_key):
    custodian = people[roles.KEY_CUSTODIAN]
    before = policies.policy_current(policies.ENCRYPTION_EXCEPTION)
    client.force_login(policy_admin())

    # 1. The admin saves the weakened policy.
    url = reverse("admin:approvals_approvalpolicy_change", args=[before.pk])
    response = client.post(url, _admin_form(before, **WEAK))
    assert response.status_code == 200  # the form comes back with the refusal, nothing saved
    assert b"policy_below_floor" in response.content
    assert policies.policy_current(policies.ENCRYPTION_EXCEPTION).pk == before.pk
    assert not ApprovalRequest.objects.filter(action=policies.POLICY_CHANGE).exists()

    # Nor can code publish over it without an approved policy_change.
    from approvals.errors import PolicyChangeUnapproved

    with pytest.raises(PolicyChangeUnapproved):
        policies.policy_publish(
            action=policies.ENCRYPTION_EXCEPTION,
            fields=policies.policy_fields(before) | {"description": "quietly"},
            actor=actor(policy_admin()),
        )

    # 2. The custodian asks for an exception and approves it alone with TOTP: refused at every step.
    totp = setup_totp(custodian)
    request = open_request(policies.ENCRYPTION_EXCEPTION, custodian, _exception_payload(compromised_key))
    with pytest.raises((SeparationOfDuties, TotpNotAllowed)):
        decide(custodian, request, totp=totp.now())
    request.refresh_from_db()
    assert request.status == "pending"

    # 3. The service cannot encrypt with the compromised key.
    assert not EncryptionException.objects.exists()
    assert not _encrypts(compromised_key)


def test_a_policy_stored_below_its_floor_is_raised_to_it(people, authenticators, compromised_key):
    """A weak version written by hand (or before floors existed) still cannot let one person through."""
    custodian = people[roles.KEY_CUSTODIAN]
    ApprovalPolicy.objects.filter(action=policies.ENCRYPTION_EXCEPTION, is_current=True).update(
        requirements=[{"roles": [roles.KEY_CUSTODIAN], "count": 1}], exclude_requester=False, allow_totp=True
    )
    totp = setup_totp(custodian)
    request = open_request(policies.ENCRYPTION_EXCEPTION, custodian, _exception_payload(compromised_key))
    with pytest.raises(SeparationOfDuties):  # requester excluded by the floor
        decide(custodian, request, totp=totp.now())
    opened_by_commander = open_request(
        policies.ENCRYPTION_EXCEPTION, people[roles.COMMANDER], _exception_payload(compromised_key)
    )
    with pytest.raises(TotpNotAllowed):  # WebAuthn only, by the floor
        decide(custodian, opened_by_commander, totp=totp.now())
    decide(custodian, opened_by_commander, authenticator=authenticators[roles.KEY_CUSTODIAN])
    opened_by_commander.refresh_from_db()
    assert opened_by_commander.status == "pending"  # one person in one role is below the floor
    assert not EncryptionException.objects.exists()
    assert not _encrypts(compromised_key)


def test_saving_in_the_admin_proposes_and_the_change_is_audited_once_approved(client, people, authenticators):
    before = policies.policy_current(policies.ENCRYPTION_EXCEPTION)
    client.force_login(policy_admin())
    url = reverse("admin:approvals_approvalpolicy_change", args=[before.pk])
    response = client.post(url, _admin_form(before, expires_after_seconds=3 * 3600))
    proposal = ApprovalRequest.objects.get(action=policies.POLICY_CHANGE)
    assert response.status_code == 302
    assert response["Location"] == reverse("approval-page", args=[proposal.id])

    # The proposal shows the diff; nothing is in force yet.
    page = client.get(reverse("approval-page", args=[proposal.id])).content.decode()
    assert 'id="policy-diff"' in page
    assert "10800" in page
    assert policies.policy_current(policies.ENCRYPTION_EXCEPTION).pk == before.pk
    assert proposal.payload["details"]["diff"] == {"expires_after_seconds": {"from": 7200, "to": 10800}}

    # Two approvers other than the proposer, in two roles, with WebAuthn: then it takes effect.
    decide(people[roles.CISO], proposal, authenticator=authenticators[roles.CISO])
    assert policies.policy_current(policies.ENCRYPTION_EXCEPTION).pk == before.pk
    decide(people[roles.SECURITY_LEAD], proposal, authenticator=authenticators[roles.SECURITY_LEAD])
    after = policies.policy_current(policies.ENCRYPTION_EXCEPTION)
    assert (after.version, after.expires_after_seconds) == (before.version + 1, 3 * 3600)

    event = AuditEvent.objects.get(action="approval.policy_published")
    assert event.subject_id == policies.ENCRYPTION_EXCEPTION
    assert event.data["diff"] == {"expires_after_seconds": {"from": 7200, "to": 10800}}
    assert event.data["approval_request"] == str(proposal.id)
    assert audit_verify_database().ok


def test_the_policy_change_policy_is_floored_too(people, authenticators):
    from approvals.errors import PolicyBelowFloor

    admin = User.objects.create_user("second-admin", is_staff=True, is_superuser=True)
    with pytest.raises(PolicyBelowFloor, match="below its floor"):
        policies.policy_change_details(
            action=policies.POLICY_CHANGE, fields={"requirements": [{"roles": [roles.CISO], "count": 1}]}
        )
    assert admin.has_perm("approvals.change_approvalpolicy")
