"""Legal sign-off of a filing: refused when opened if nobody could decide it (the only legal approver
asking, say); a sign-off still pending blocks the incident's closure; the close check lists the
incident's open regulatory items."""

from __future__ import annotations

import pytest

from approvals.errors import NoEligibleApprover
from approvals.models import ApprovalRequest
from approvals.services.requests import approval_cancel
from audit.actors import Actor
from audit.models import AuditEvent
from incidents.errors import ClosureBlocked
from incidents.services.closure import closure_open_items
from incidents.services.incidents import incident_advance
from regulatory.models import Obligation
from regulatory.services.assessments import assessment_record
from regulatory.services.filings import filing_signoff_request, signoff_possible
from tests.approvals.conftest import actor
from tests.regulatory.conftest import hipaa_facts
from webapp import roles

LEGAL = Actor(name="legal", type="user")


def _hipaa(incident) -> Obligation:
    assessment_record(incident=incident, facts=hipaa_facts(incident), actor=LEGAL)
    return Obligation.objects.get(incident=incident, rule_id="US-HIPAA-404")


def test_the_only_legal_approver_cannot_ask_for_her_own_sign_off(incident, make_user):
    legal = make_user("dpo", roles.LEGAL_DPO)
    obligation = _hipaa(incident)
    assert not signoff_possible(legal)
    with pytest.raises(NoEligibleApprover) as raised:
        filing_signoff_request(obligation=obligation, user=legal, actor=actor(legal), reason="file it")
    assert raised.value.code == "no_eligible_approver"
    assert not ApprovalRequest.objects.exists()
    refused = AuditEvent.objects.get(action="approval.refused_undecidable")
    assert (refused.subject_id, refused.data["code"]) == ("INC-2026-9001/US-HIPAA-404", "no_eligible_approver")
    assert refused.data["action"] == "regulatory_filing_signoff"
    # a second legal approver makes it decidable; so does asking as someone else
    make_user("dpo-2", roles.LEGAL_DPO)
    assert signoff_possible(legal)
    assert filing_signoff_request(obligation=obligation, user=legal, actor=actor(legal), reason="file it")


def test_an_inactive_approver_does_not_count(incident, make_user, commander):
    legal = make_user("dpo", roles.LEGAL_DPO)
    legal.is_active = False
    legal.save()
    obligation = _hipaa(incident)
    with pytest.raises(NoEligibleApprover):
        filing_signoff_request(obligation=obligation, user=commander, actor=actor(commander), reason="file it")


WAIVERS = {"obligations": "filed on paper by outside counsel", "review": "reviewed in the quarterly meeting"}


def test_a_pending_sign_off_blocks_the_close(incident, make_user, commander):
    make_user("dpo", roles.LEGAL_DPO)
    obligation = _hipaa(incident)
    request = filing_signoff_request(obligation=obligation, user=commander, actor=actor(commander), reason="file")
    items = closure_open_items(incident)
    signoffs = [i for i in items if i.check == "signoffs"]
    assert [(i.item, i.title) for i in signoffs] == [(str(request.id), "regulatory_filing_signoff pending")]
    assert any(i.check == "obligations" and i.title.startswith("US-HIPAA-404 not filed") for i in items)
    with pytest.raises(ClosureBlocked, match="regulatory_filing_signoff pending"):
        incident_advance(
            reference=incident.reference,
            action="request_close",
            choice="keep_decrypt_only",
            actor=actor(commander),
            waivers=WAIVERS,
        )
    refused = AuditEvent.objects.get(action="incident.close_refused")
    assert refused.data["items"][0]["check"] == "signoffs"
    # cancelled (or decided), it no longer blocks; the unfiled duty still needs its recorded waiver
    approval_cancel(request_id=request.id, user=commander, actor=actor(commander), reason="not needed")
    incident_advance(
        reference=incident.reference,
        action="request_close",
        choice="keep_decrypt_only",
        actor=actor(commander),
        waivers=WAIVERS,
    )
    assert AuditEvent.objects.filter(action="incident.request_close").exists()
