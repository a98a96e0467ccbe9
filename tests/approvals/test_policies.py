"""Policies as data: the shipped defaults meet their floors; what a proposal may and may not change."""

from __future__ import annotations

import pytest

from approvals import policies
from approvals.errors import InvalidPolicy, PolicyBelowFloor, PolicyChangePending
from approvals.floors import FLOORS, floor_of
from approvals.quorum import floor_shortfalls, requirements_from
from approvals.services.policy_changes import policy_change_propose
from tests.approvals.conftest import actor, policy_admin
from webapp import roles

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("action", sorted(policies.DEFAULT_POLICIES))
def test_every_shipped_default_meets_its_floor(action):
    fields = policies.policy_fields_check(action=action, fields=policies.DEFAULT_POLICIES[action])
    assert not floor_shortfalls(requirements_from(fields["requirements"]), floor_of(action))


def test_every_floored_action_ships_a_policy():
    assert set(FLOORS) <= set(policies.DEFAULT_POLICIES)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"allow_totp": True}, PolicyBelowFloor),
        ({"exclude_requester": False}, PolicyBelowFloor),
        ({"veto_on_reject": False}, PolicyBelowFloor),
        ({"requirements": [{"roles": ["ciso"], "count": 2}]}, PolicyBelowFloor),
        (
            {"requirements": [{"roles": ["service_account"], "count": 1}, {"roles": ["ciso"], "count": 1}]},
            InvalidPolicy,
        ),
        ({"step_up_max_age_seconds": 86400}, InvalidPolicy),
        ({"surprise": 1}, InvalidPolicy),
        ({}, InvalidPolicy),  # nothing changes
    ],
)
def test_proposals_below_the_floor_or_malformed_are_refused(changes, error):
    with pytest.raises(error):
        policies.policy_change_details(action=policies.KEY_DESTRUCTION, fields=changes)


def test_an_unfloored_action_may_be_lowered_but_only_through_approval():
    details = policies.policy_change_details(
        action=policies.CONFIRM_COMPROMISE, fields={"requirements": [{"roles": [roles.CISO], "count": 1}]}
    )
    assert details["base_version"] == 1
    assert set(details["diff"]) == {"requirements"}


def test_one_pending_change_per_policy(people):
    admin = policy_admin()
    policy_change_propose(
        action=policies.CLOSE_INCIDENT,
        fields={"expires_after_seconds": 3600},
        reason="r",
        proposed_by=admin,
        actor=actor(admin),
    )
    with pytest.raises(PolicyChangePending):
        policy_change_propose(
            action=policies.CLOSE_INCIDENT,
            fields={"expires_after_seconds": 7200},
            reason="r",
            proposed_by=admin,
            actor=actor(admin),
        )


def test_only_policy_administrators_propose(people):
    from approvals.errors import NotEligible

    ciso = people[roles.CISO]
    with pytest.raises(NotEligible):
        policy_change_propose(
            action=policies.CLOSE_INCIDENT,
            fields={"expires_after_seconds": 3600},
            reason="r",
            proposed_by=ciso,
            actor=actor(ciso),
        )
