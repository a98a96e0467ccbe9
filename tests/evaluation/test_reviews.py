"""Post-incident reviews: written, actions tracked to done, submitted with a generated timeline, signed
off by the commander and the security lead (never by whoever submitted it); then closure sees it done."""

from __future__ import annotations

from datetime import date

import pytest

from approvals.errors import SeparationOfDuties
from audit.models import AuditEvent
from evaluation.errors import ReviewInvalid, ReviewLocked
from evaluation.services import reviews
from incidents.services.closure import closure_open_items
from tests.approvals.conftest import actor, decide
from webapp import roles

pytestmark = pytest.mark.django_db


def _write(incident, people) -> None:
    reviews.review_update(
        reference=incident.reference,
        went_well="contained before the 202",
        went_badly="the custodian was hard to reach",
        root_cause="a KEK committed to a public repository",
        actor=actor(people[roles.COMMANDER]),
    )


def test_a_review_is_written_submitted_and_signed_off(incident, people, authenticators):
    assert reviews.review_state(reviews.review_of(incident)) == reviews.MISSING
    _write(incident, people)
    action = reviews.review_action_add(
        reference=incident.reference,
        description="add a pre-commit secret scanner",
        owner=people[roles.KEY_CUSTODIAN],
        due_on=date(2027, 1, 31),
        actor=actor(people[roles.COMMANDER]),
    )
    submitter = people["security_lead_2"]
    review = reviews.review_submit(reference=incident.reference, user=submitter, actor=actor(submitter))
    assert reviews.review_state(review) == reviews.AWAITING
    assert review.timeline[0]["action"] in ("signal.received", "incident.opened")
    request = review.signoff
    assert request is not None
    assert request.action == "post_incident_review"
    assert request.payload["details"]["content_hash"] == review.content_hash
    assert request.payload["details"]["actions"][0]["owner"] == people[roles.KEY_CUSTODIAN].username

    with pytest.raises(ReviewLocked):  # the text is frozen while it waits for sign-off
        _write(incident, people)
    with pytest.raises(SeparationOfDuties):
        decide(submitter, request, authenticator=authenticators["security_lead_2"])
    decide(people[roles.COMMANDER], request, authenticator=authenticators[roles.COMMANDER])
    decide(people[roles.SECURITY_LEAD], request, authenticator=authenticators[roles.SECURITY_LEAD])
    review.refresh_from_db()
    assert reviews.review_state(review) == reviews.SIGNED_OFF
    assert AuditEvent.objects.filter(action="review.signed_off", incident=incident.reference).exists()
    assert [i.check for i in closure_open_items(incident)] == []

    reviews.review_action_done(action_id=action.pk, note="scanner in CI", actor=actor(people[roles.KEY_CUSTODIAN]))
    action.refresh_from_db()
    assert action.done_at is not None
    assert action.done_by == people[roles.KEY_CUSTODIAN].username


def test_a_review_needs_its_three_parts_before_sign_off(incident, people):
    with pytest.raises(ReviewInvalid, match="root cause"):
        reviews.review_submit(
            reference=incident.reference, user=people[roles.COMMANDER], actor=actor(people[roles.COMMANDER])
        )


def test_a_rejected_sign_off_unlocks_the_review(incident, people, authenticators):
    _write(incident, people)
    review = reviews.review_submit(
        reference=incident.reference, user=people[roles.CISO], actor=actor(people[roles.CISO])
    )
    assert review.signoff is not None
    decide(people[roles.SECURITY_LEAD], review.signoff, "reject", authenticator=authenticators[roles.SECURITY_LEAD])
    assert reviews.review_state(reviews.review_of(incident)) == reviews.DRAFT
    _write(incident, people)  # editable again, and submitted anew later
    assert [i.check for i in closure_open_items(incident)] == ["review"]
