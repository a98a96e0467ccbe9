"""Closure checks what is still open and refuses to close unless each item is done or waived, with the
waiver inside the close_incident approval its approvers sign; the case file lists the waivers."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from approvals import policies
from approvals.models import ApprovalRequest
from audit.models import AuditEvent
from incidents.errors import ClosureBlocked
from incidents.services import playbook
from incidents.services.closure import closure_blockers, closure_checks, closure_open_items
from incidents.services.incidents import incident_advance, incident_get
from tests.approvals.conftest import actor, decide, grant_payload, open_request
from tests.evaluation.conftest import open_incident
from webapp import roles

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(people):
    return open_incident(people[roles.COMMANDER])


def _close_request(incident, people, **waivers: str) -> None:
    incident_advance(
        reference=incident.reference,
        action="request_close",
        choice="keep_decrypt_only",
        actor=actor(people[roles.COMMANDER]),
        waivers=waivers,
    )


def _approve_close(incident, people, authenticators) -> ApprovalRequest:
    spec = playbook.incident_open_approval(
        reference=incident.reference, action=policies.CLOSE_INCIDENT, round_number=1, keys=[], disposition="keep"
    )
    request = ApprovalRequest.objects.get(id=spec.request_id)
    for slug in (roles.SECURITY_LEAD, roles.LEGAL_DPO):
        decide(people[slug], request, authenticator=authenticators[slug])
    request.refresh_from_db()
    assert request.status == "approved"
    return request


def test_every_check_is_registered_by_its_own_app():
    assert {name for name, _ in closure_checks()} >= {
        "rewrap",
        "signoffs",
        "acknowledgements",
        "obligations",
        "review",
    }


def test_a_closure_with_an_open_item_is_refused(incident, people):
    assert [i.check for i in closure_open_items(incident)] == ["review"]
    with pytest.raises(ClosureBlocked) as refused:
        _close_request(incident, people)
    assert refused.value.code == "closure_open_items"
    assert [i["check"] for i in refused.value.details["open_items"]] == ["review"]
    with pytest.raises(ClosureBlocked, match="states its reason"):
        _close_request(incident, people, review="no")
    with pytest.raises(ClosureBlocked, match="no closure check named"):
        _close_request(incident, people, reveiw="a typo in the check's name")
    assert incident_get(incident.reference).closure_request == {}
    assert not AuditEvent.objects.filter(action="incident.request_close").exists()


def test_a_closure_with_a_recorded_waiver_passes_and_the_case_file_lists_it(incident, people, authenticators):
    reason = "drill-style test incident: no review is held for it"
    _close_request(incident, people, review=reason)
    recorded = incident_get(incident.reference).closure_request
    assert recorded["waivers"] == {"review": reason}
    assert [i["check"] for i in recorded["open_items"]] == ["review"]
    request = _approve_close(incident, people, authenticators)
    details = request.payload["details"]  # what the approvers signed
    assert details["waivers"] == {"review": reason}
    assert [i["check"] for i in details["open_items"]] == ["review"]
    playbook.incident_close(reference=incident.reference, resolution="compromise", disposition="keep_decrypt_only")
    closed = incident_get(incident.reference)
    assert closed.status == "closed"
    event = AuditEvent.objects.get(action="incident.closed", incident=incident.reference)
    assert event.data["waivers"] == {"review": reason}

    from django.utils import timezone

    from casefile.gather import case_data

    section = case_data(closed, generated_by="t", now=timezone.now()).sections["closure"]
    assert section is not None
    assert section.rows == [["review", "post-incident review missing", reason]]


def test_an_item_opened_after_the_approval_blocks_the_close(incident, people, authenticators, compromised_key):
    _close_request(incident, people, review="closing this test incident without a review")
    _approve_close(incident, people, authenticators)
    # Someone asks for decrypt access on this incident after the approvers signed: not shown to them.
    open_request(
        policies.COMPROMISED_KEY_DECRYPT_ACCESS,
        people[roles.COMMANDER],
        grant_payload(compromised_key),
        incident=incident.reference,
    )
    assert [i.check for i in closure_blockers(incident_get(incident.reference), approved=True)] == ["signoffs"]
    with pytest.raises(playbook.BusinessError, match="open items"):
        playbook.incident_close(reference=incident.reference, resolution="compromise", disposition="keep")
    assert incident_get(incident.reference).status == "open"


def test_the_api_answers_409_with_the_open_items(incident, people):
    client = APIClient()
    client.force_authenticate(people[roles.COMMANDER])
    url = f"/api/v1/incidents/{incident.reference}/advance"
    response = client.post(url, {"action": "request_close", "choice": "keep_decrypt_only"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "closure_open_items"
    assert response.json()["open_items"][0]["check"] == "review"
    response = client.post(
        url,
        {"action": "request_close", "choice": "keep_decrypt_only", "waivers": {"review": "held with the next one"}},
        format="json",
    )
    assert response.status_code == 200, response.json()
