"""Requests and decisions through the services, with real WebAuthn assertions (software authenticator)."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from approvals import policies
from approvals.errors import (
    AlreadyDecided,
    ChallengeInvalid,
    InvalidApprovalRequest,
    LegalHold,
    NotEligible,
    RequestClosed,
    RequestExpired,
    SeparationOfDuties,
    StepUpFailed,
    StepUpRequired,
    TotpNotAllowed,
)
from approvals.models import ApprovalRequest, Decision
from approvals.services import decisions
from approvals.services.requests import approval_cancel, approval_expire
from approvals.verification import decision_verify
from audit.models import AuditEvent
from ir_workflows.models import TemporalOutbox
from keyvault.models import DecryptGrant, EncryptionException, ManagedKey
from keyvault.services import gate
from keyvault.states import KeyState
from keyvault.types import Principal, UseContext
from tests.approvals.conftest import (
    actor,
    change_policy,
    decide,
    grant_payload,
    open_request,
    setup_totp,
    suspended_key,
)
from tests.keyvault.conftest import AAD, PLAINTEXT, make_key
from webapp import roles

pytestmark = pytest.mark.django_db


def next_code(totp):
    """The code of the next 30-second step (the current one was spent confirming the device)."""
    import time

    return totp.at(time.time() + totp.interval)


def test_decrypt_access_quorum_yields_a_grant_the_gate_honours(people, authenticators, compromised_key):
    commander = people[roles.COMMANDER]
    _, _sealed = make_key("local", KeyState.ACTIVE, alias="x")  # unrelated key: no effect
    request = open_request(policies.COMPROMISED_KEY_DECRYPT_ACCESS, commander, grant_payload(compromised_key))
    assert request.status == "pending"
    assert request.payload["details"]["principal"] == "p-commander"
    assert TemporalOutbox.objects.filter(kind="start", workflow_id=request.workflow_id).exists()

    decide(people[roles.SECURITY_LEAD], request, authenticator=authenticators[roles.SECURITY_LEAD])
    request.refresh_from_db()
    assert request.status == "pending"
    decide(people[roles.KEY_CUSTODIAN], request, authenticator=authenticators[roles.KEY_CUSTODIAN])
    request.refresh_from_db()
    assert request.status == "approved"
    grant = DecryptGrant.objects.get(pk=request.result["decrypt_grant"])
    assert (grant.principal, grant.operation_budget, grant.approval_reference) == ("p-commander", 5, str(request.id))

    # The grant is what the gate now asks of a person decrypting with the compromised key.
    original = ManagedKey.objects.get(alias="leaked")
    assert original.id == compromised_key.id
    assert AuditEvent.objects.filter(action="approval.approved", data__request=str(request.id)).count() == 1
    assert TemporalOutbox.objects.filter(kind="update", workflow_id=request.workflow_id).count() == 2


def test_an_encryption_exception_takes_effect_only_with_the_quorum(people, authenticators, compromised_key):
    custodian, ciso = people[roles.KEY_CUSTODIAN], people[roles.CISO]
    payload = {
        "key": str(compromised_key.id),
        "principal": "payments-app",
        "purpose": "close-batch",
        "valid_hours": 1,
        "operation_budget": 3,
    }
    request = open_request(policies.ENCRYPTION_EXCEPTION, people[roles.COMMANDER], payload)
    decide(custodian, request, authenticator=authenticators[roles.KEY_CUSTODIAN])
    assert not EncryptionException.objects.exists()
    decide(ciso, request, authenticator=authenticators[roles.CISO])
    exception = EncryptionException.objects.get()
    assert (exception.principal, exception.purpose, exception.operation_budget) == ("payments-app", "close-batch", 3)


def test_limits_of_a_grant_request_are_checked_when_it_opens(people, compromised_key):
    too_long = grant_payload(compromised_key) | {"valid_hours": 25}
    with pytest.raises(InvalidApprovalRequest, match="valid_hours"):
        open_request(policies.COMPROMISED_KEY_DECRYPT_ACCESS, people[roles.COMMANDER], too_long)
    active, _ = make_key("local", KeyState.ACTIVE, alias="fine")
    with pytest.raises(InvalidApprovalRequest, match="not compromised"):
        open_request(policies.COMPROMISED_KEY_DECRYPT_ACCESS, people[roles.COMMANDER], grant_payload(active))
    assert not ApprovalRequest.objects.exists()  # nothing half-written


def test_separation_of_duties_and_eligibility(people, authenticators, compromised_key):
    lead = people[roles.SECURITY_LEAD]
    request = open_request(
        policies.COMPROMISED_KEY_DECRYPT_ACCESS, lead, grant_payload(compromised_key, "p-security_lead")
    )
    with pytest.raises(SeparationOfDuties):
        decide(lead, request, authenticator=authenticators[roles.SECURITY_LEAD])
    for outsider in (people[roles.AUDITOR], people[roles.COMMANDER], people[roles.LEGAL_DPO]):
        with pytest.raises(NotEligible):
            decide(outsider, request, authenticator=authenticators.get(outsider.groups.first().name))
    with pytest.raises(NotEligible):  # a role that does not count for this policy
        decide(people[roles.KEY_CUSTODIAN], request, authenticator=authenticators[roles.KEY_CUSTODIAN], role="ciso")


def test_nobody_decides_twice_and_a_veto_ends_it(people, authenticators):
    key = suspended_key()
    request = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(key.id)]})
    decide(people[roles.SECURITY_LEAD], request, authenticator=authenticators[roles.SECURITY_LEAD])
    with pytest.raises(AlreadyDecided):
        decide(people[roles.SECURITY_LEAD], request, authenticator=authenticators[roles.SECURITY_LEAD])
    decide(
        people[roles.KEY_CUSTODIAN],
        request,
        "reject",
        authenticator=authenticators[roles.KEY_CUSTODIAN],
        reason="not our key",
    )
    request.refresh_from_db()
    assert request.status == "rejected"
    with pytest.raises(RequestClosed):
        decide(people["security_lead_2"], request, authenticator=authenticators["security_lead_2"])
    assert ManagedKey.objects.get(id=key.id).key_state is KeyState.SUSPENDED  # no effect on a rejection


def test_standalone_confirmation_compromises_and_restricts(people, authenticators, django_capture_on_commit_callbacks):
    key = suspended_key()
    request = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(key.id)]})
    decide(people[roles.SECURITY_LEAD], request, authenticator=authenticators[roles.SECURITY_LEAD])
    with django_capture_on_commit_callbacks() as committed:  # the lifecycle restricts after the commit
        decide(people[roles.KEY_CUSTODIAN], request, authenticator=authenticators[roles.KEY_CUSTODIAN])
    key.refresh_from_db()
    assert key.restricted_at is None  # owed, not applied before the commit
    for callback in committed:
        callback()
    key.refresh_from_db()
    assert key.key_state is KeyState.COMPROMISED
    assert key.restricted_at is not None


def test_a_rejection_needs_a_reason(people, authenticators):
    request = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key().id)]})
    with pytest.raises(InvalidApprovalRequest, match="reason"):
        decide(
            people[roles.SECURITY_LEAD],
            request,
            "reject",
            authenticator=authenticators[roles.SECURITY_LEAD],
            reason=" ",
        )


def test_a_decision_after_expiry_is_refused(people, authenticators):
    request = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key().id)]})
    ApprovalRequest.objects.filter(pk=request.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(RequestExpired):
        decide(people[roles.SECURITY_LEAD], request, authenticator=authenticators[roles.SECURITY_LEAD])
    assert approval_expire(request_id=request.id) == "expired"
    assert approval_expire(request_id=request.id) == "expired"  # idempotent
    assert AuditEvent.objects.filter(action="approval.expired").count() == 1


def test_step_up_is_required_and_bound_to_the_document(people, authenticators):
    lead = people[roles.SECURITY_LEAD]
    request = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key().id)]})
    challenge, options = decisions.decision_challenge_issue(
        request_id=request.id, approver=lead, verdict="approve", reason=""
    )
    with pytest.raises(StepUpRequired):
        decisions.approval_decide(challenge_id=challenge.id, approver=lead, actor=actor(lead))
    # An assertion made for another document (here: another challenge) does not verify.
    _other, other_options = decisions.decision_challenge_issue(
        request_id=request.id, approver=lead, verdict="approve", reason=""
    )
    wrong = authenticators[roles.SECURITY_LEAD].sign(other_options)
    with pytest.raises(StepUpFailed):
        decisions.approval_decide(challenge_id=challenge.id, approver=lead, actor=actor(lead), webauthn=wrong)
    assert AuditEvent.objects.filter(action="approval.step_up_failed").count() == 1
    with pytest.raises(ChallengeInvalid):  # a failed step-up burns the challenge
        decisions.approval_decide(
            challenge_id=challenge.id,
            approver=lead,
            actor=actor(lead),
            webauthn=authenticators[roles.SECURITY_LEAD].sign(options),
        )
    assert not Decision.objects.exists()


def test_replayed_and_forged_assertions_are_refused(people, authenticators):
    lead = people[roles.SECURITY_LEAD]
    request = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key().id)]})
    challenge, options = decisions.decision_challenge_issue(
        request_id=request.id, approver=lead, verdict="approve", reason=""
    )
    assertion = authenticators[roles.SECURITY_LEAD].sign(options)
    forged = copy.deepcopy(assertion)
    signature = bytearray(forged["response"]["signature"].encode())
    forged["response"]["signature"] = (signature[:-4] + b"AAAA").decode()
    with pytest.raises(StepUpFailed):
        decisions.approval_decide(challenge_id=challenge.id, approver=lead, actor=actor(lead), webauthn=forged)
    challenge, options = decisions.decision_challenge_issue(
        request_id=request.id, approver=lead, verdict="approve", reason=""
    )
    good = authenticators[roles.SECURITY_LEAD].sign(options)
    decisions.approval_decide(challenge_id=challenge.id, approver=lead, actor=actor(lead), webauthn=good)
    # The same assertion again: its challenge is consumed (and its signature counter is stale).
    with pytest.raises((ChallengeInvalid, AlreadyDecided)):
        decisions.approval_decide(challenge_id=challenge.id, approver=lead, actor=actor(lead), webauthn=good)


def test_another_persons_authenticator_cannot_sign(people, authenticators):
    lead = people[roles.SECURITY_LEAD]
    request = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key().id)]})
    challenge, options = decisions.decision_challenge_issue(
        request_id=request.id, approver=lead, verdict="approve", reason=""
    )
    stolen = authenticators["security_lead_2"].sign(options)
    with pytest.raises(StepUpFailed, match="not registered"):
        decisions.approval_decide(challenge_id=challenge.id, approver=lead, actor=actor(lead), webauthn=stolen)


def test_totp_fallback_where_the_policy_allows_it(people, authenticators):
    lead, ciso = people[roles.SECURITY_LEAD], people[roles.CISO]
    totp = setup_totp(lead)
    request = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key().id)]})
    decision = decide(lead, request, totp=next_code(totp))
    assert decision.method == "totp"
    assert decision.evidence["document_hash"] == decision.document_hash
    # RESTORE_FALSE_POSITIVE accepts only WebAuthn.
    setup_totp(ciso)
    restore = open_request(
        policies.RESTORE_FALSE_POSITIVE, people[roles.COMMANDER], {"keys": [str(suspended_key("s2").id)]}
    )
    with pytest.raises(TotpNotAllowed):
        decide(ciso, restore, totp="123456")


def test_a_totp_code_is_accepted_once(people):
    lead, lead2 = people[roles.SECURITY_LEAD], people["security_lead_2"]
    totp = setup_totp(lead)
    first = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key("a").id)]})
    second = open_request(policies.CONFIRM_COMPROMISE, lead2, {"keys": [str(suspended_key("b").id)]})
    code = next_code(totp)
    decide(lead, first, totp=code)
    with pytest.raises(StepUpFailed):
        decide(lead, second, totp=code)


def test_destruction_is_refused_under_legal_hold(people, authenticators):
    key, _ = make_key("local", KeyState.DEACTIVATED, alias="old")
    ManagedKey.objects.filter(id=key.id).update(legal_hold=True)
    with pytest.raises(LegalHold):
        open_request(policies.KEY_DESTRUCTION, people[roles.COMMANDER], {"key": str(key.id)})
    ManagedKey.objects.filter(id=key.id).update(legal_hold=False)
    request = open_request(policies.KEY_DESTRUCTION, people[roles.COMMANDER], {"key": str(key.id)})
    decide(people[roles.KEY_CUSTODIAN], request, authenticator=authenticators[roles.KEY_CUSTODIAN])
    ManagedKey.objects.filter(id=key.id).update(legal_hold=True)  # a hold placed while the request was open
    with pytest.raises(LegalHold):
        decide(people[roles.CISO], request, authenticator=authenticators[roles.CISO])
    request.refresh_from_db()
    assert request.status == "pending"


def test_policy_versions_stick_to_their_requests(people, authenticators):
    request = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key().id)]})
    change_policy(
        policies.CONFIRM_COMPROMISE, {"requirements": [{"roles": ["ciso"], "count": 1}]}, people, authenticators
    )
    assert policies.policy_current(policies.CONFIRM_COMPROMISE).version == 2
    decide(people[roles.SECURITY_LEAD], request, authenticator=authenticators[roles.SECURITY_LEAD])
    decide(people[roles.KEY_CUSTODIAN], request, authenticator=authenticators[roles.KEY_CUSTODIAN])
    request.refresh_from_db()
    assert (request.policy.version, request.status) == (1, "approved")


def test_cancel(people):
    request = open_request(
        policies.CONFIRM_COMPROMISE, people[roles.SECURITY_LEAD], {"keys": [str(suspended_key().id)]}
    )
    with pytest.raises(NotEligible):
        approval_cancel(
            request_id=request.id, user=people[roles.AUDITOR], actor=actor(people[roles.AUDITOR]), reason="x"
        )
    approval_cancel(
        request_id=request.id, user=people[roles.SECURITY_LEAD], actor=actor(people[roles.SECURITY_LEAD]), reason="dup"
    )
    request.refresh_from_db()
    assert request.status == "cancelled"
    assert TemporalOutbox.objects.filter(kind="update", update_name="approval_closed").exists()


def test_verify_decision_checks_the_evidence_not_the_status(people, authenticators, capsys):
    request = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key().id)]})
    decision = decide(people[roles.SECURITY_LEAD], request, authenticator=authenticators[roles.SECURITY_LEAD])
    call_command("verify_decision", str(decision.id))
    assert "verifies" in capsys.readouterr().out
    # Tamper with what was approved: the document no longer matches its hash or the signature.
    tampered = dict(decision.document, decision="reject")
    Decision.objects.filter(pk=decision.pk).update(document=tampered)
    decision.refresh_from_db()
    assert not decision_verify(decision).ok
    with pytest.raises(CommandError, match="does NOT verify"):
        call_command("verify_decision", str(decision.id))


def test_the_grant_then_opens_compromised_decrypts(people, authenticators):
    key, sealed = make_key("local", KeyState.ACTIVE, alias="pay")
    from keyvault.services import lifecycle
    from tests.keyvault.conftest import SYSTEM

    lifecycle.key_compromise(key_id=key.id, actor=SYSTEM, reason="leak")
    commander = people[roles.COMMANDER]
    request = open_request(policies.COMPROMISED_KEY_DECRYPT_ACCESS, commander, grant_payload(key))
    decide(people[roles.CISO], request, authenticator=authenticators[roles.CISO])
    decide(people[roles.KEY_CUSTODIAN], request, authenticator=authenticators[roles.KEY_CUSTODIAN])
    context = UseContext(justification="forensics", incident="INC-1", affected_system="db", purpose="forensics")
    assert gate.gate_decrypt(
        items=[gate.DecryptItem(sealed, AAD)], principal=Principal.for_user(commander), context=context
    ) == [PLAINTEXT]


def test_verify_decision_says_what_a_totp_step_up_proves(people, authenticators, capsys):
    """A TOTP code is a shared secret checked once, at decision time: never reported as a re-verified
    signature (issue 14, bug 6). A WebAuthn assertion is: its signature is verified again."""
    lead = people[roles.SECURITY_LEAD]
    totp = setup_totp(lead)
    request = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key().id)]})
    decision = decide(lead, request, totp=next_code(totp))
    report = decision_verify(decision)
    assert report.ok
    assert not report.reverified
    assert "one-time code was checked at decision time" in report.statement
    assert "cannot be re-verified" in report.statement
    assert decision.evidence["verified_at"] in report.statement
    call_command("verify_decision", str(decision.id))
    out = capsys.readouterr().out
    assert "signature" not in out.replace("not a signature", "")
    assert "its TOTP code was checked at decision time and cannot be re-verified" in out

    custodian = people[roles.KEY_CUSTODIAN]
    signed = decide(custodian, request, authenticator=authenticators[roles.KEY_CUSTODIAN])
    report = decision_verify(signed)
    assert report.reverified
    assert "assertion signature over the document hash was verified again" in report.statement
    call_command("verify_decision", str(signed.id))
    assert "verifies, its signature included" in capsys.readouterr().out
