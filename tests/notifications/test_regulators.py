"""Nobody mails a regulator in one click: the commander's approval sends the other parties' messages and
holds the regulator's; legal/DPO signs off its exact text (another approver, step-up); then a person who
signs filings sends it. A sign-off nobody could decide is refused when asked."""

from __future__ import annotations

import pytest

from approvals.errors import NoEligibleApprover
from approvals.models import ApprovalRequest
from audit.models import AuditEvent
from ir_workflows.models import TemporalOutbox
from notifications.errors import NotAllowedToApprove, NothingToApprove
from notifications.models import Notification, PartyRole
from notifications.services.messages import notifications_approve, notifications_draft
from notifications.services.regulators import (
    held_for_signoff,
    notification_release,
    notification_signoff_request,
)
from tests.approvals.conftest import actor, decide, register
from tests.notifications.conftest import SYSTEM, _email, _party
from webapp import roles


@pytest.fixture
def regulator(case):
    party = _party("Data protection authority", PartyRole.REGULATOR, data_assets=list(case.key.data_assets.all()))
    _email(party, "breach@dpa.test")
    return party


def _messages(case):
    notifications_draft(reference=case.incident.reference, actor=SYSTEM)
    return {n.party.name: n for n in Notification.objects.filter(incident=case.incident)}


def test_the_commanders_approval_holds_the_regulators_message(case, regulator, commander):
    drafts = _messages(case)
    sent = notifications_approve(reference=case.incident.reference, user=commander, actor=actor(commander))
    assert regulator.name not in {n.party.name for n in sent}
    held = Notification.objects.get(pk=drafts[regulator.name].pk)
    assert held.status == Notification.Status.DRAFT
    assert held_for_signoff(held)
    assert not TemporalOutbox.objects.filter(workflow_id__endswith=f"-{held.pk}").exists()
    assert AuditEvent.objects.filter(action="notification.held", subject_id=held.idempotency_key).exists()
    # once the first send is approved, new drafts go out at once, but never a regulator's
    with pytest.raises(NothingToApprove, match="legal sign-off"):
        notifications_approve(reference=case.incident.reference, user=commander, actor=actor(commander))


def test_sign_off_then_send(case, regulator, commander, make_user):
    legal = make_user("dpo", roles.LEGAL_DPO)
    drafts = _messages(case)
    notifications_approve(reference=case.incident.reference, user=commander, actor=actor(commander))
    message = drafts[regulator.name]
    with pytest.raises(NotAllowedToApprove):  # no sign-off yet
        notification_release(notification_id=message.pk, user=legal, actor=actor(legal))
    # the only legal approver cannot ask for her own sign-off: nobody could decide it
    with pytest.raises(NoEligibleApprover):
        notification_signoff_request(notification_id=message.pk, user=legal, actor=actor(legal), reason="send it")
    refused = AuditEvent.objects.get(action="approval.refused_undecidable")
    assert refused.data == {"action": "regulatory_filing_signoff", "code": "no_eligible_approver"}
    assert not ApprovalRequest.objects.filter(subject_type="notification").exists()
    request = notification_signoff_request(
        notification_id=message.pk, user=commander, actor=actor(commander), reason="text checked"
    )
    assert (request.subject_type, request.subject_id) == ("notification", message.idempotency_key)
    decide(legal, request, authenticator=register(legal), reason="text approved")  # step-up (WebAuthn)
    with pytest.raises(NotAllowedToApprove):  # the commander does not sign filings
        notification_release(notification_id=message.pk, user=commander, actor=actor(commander))
    released = notification_release(notification_id=message.pk, user=legal, actor=actor(legal))
    assert released.status == Notification.Status.APPROVED
    assert released.approved_by == "dpo"
    assert AuditEvent.objects.filter(action="notification.regulator_released").exists()


def test_a_changed_text_needs_a_new_sign_off(case, regulator, commander, make_user):
    legal = make_user("dpo", roles.LEGAL_DPO)
    message = _messages(case)[regulator.name]
    request = notification_signoff_request(
        notification_id=message.pk, user=commander, actor=actor(commander), reason="text checked"
    )
    decide(legal, request, authenticator=register(legal))
    Notification.objects.filter(pk=message.pk).update(body=message.body + "\nP.S. one more thing")
    with pytest.raises(NotAllowedToApprove, match="no approved legal sign-off"):
        notification_release(notification_id=message.pk, user=legal, actor=actor(legal))
