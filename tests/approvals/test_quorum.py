"""Quorum policies: a table of cases, and property tests of the invariants."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvals.quorum import (
    APPROVE,
    APPROVED,
    PENDING,
    REJECT,
    REJECTED,
    Requirement,
    Vote,
    evaluate,
    requirements_from,
)

LEAD_AND_CUSTODIAN = requirements_from([{"roles": ["lead"], "count": 1}, {"roles": ["custodian"], "count": 1}])
TWO_OF_LEAD_CISO = requirements_from([{"roles": ["lead", "ciso"], "count": 2}])


@pytest.mark.parametrize(
    ("requirements", "votes", "expected"),
    [
        (LEAD_AND_CUSTODIAN, [], PENDING),
        (LEAD_AND_CUSTODIAN, [Vote("a", "lead", APPROVE)], PENDING),
        (LEAD_AND_CUSTODIAN, [Vote("a", "lead", APPROVE), Vote("b", "custodian", APPROVE)], APPROVED),
        (LEAD_AND_CUSTODIAN, [Vote("a", "lead", APPROVE), Vote("b", "lead", APPROVE)], PENDING),  # wrong roles
        (LEAD_AND_CUSTODIAN, [Vote("a", "lead", APPROVE), Vote("a", "custodian", APPROVE)], PENDING),  # one person
        (LEAD_AND_CUSTODIAN, [Vote("req", "lead", APPROVE), Vote("b", "custodian", APPROVE)], PENDING),  # requester
        (LEAD_AND_CUSTODIAN, [Vote("a", "lead", APPROVE), Vote("b", "custodian", REJECT)], REJECTED),  # veto
        (TWO_OF_LEAD_CISO, [Vote("a", "lead", APPROVE), Vote("b", "ciso", APPROVE)], APPROVED),
        (TWO_OF_LEAD_CISO, [Vote("a", "lead", APPROVE), Vote("b", "lead", APPROVE)], APPROVED),
        (TWO_OF_LEAD_CISO, [Vote("a", "lead", APPROVE)], PENDING),
        (TWO_OF_LEAD_CISO, [Vote("a", "lead", APPROVE), Vote("b", "custodian", APPROVE)], PENDING),
    ],
)
def test_policy_table(requirements, votes, expected):
    assert evaluate(requirements, votes, requester="req").status == expected


def test_without_veto_a_rejection_does_not_end_the_request():
    votes = [Vote("a", "lead", REJECT), Vote("b", "lead", APPROVE), Vote("c", "custodian", APPROVE)]
    assert evaluate(LEAD_AND_CUSTODIAN, votes, requester="req", veto=False).status == APPROVED
    assert evaluate(LEAD_AND_CUSTODIAN, votes[:1], requester="req", veto=False).status == PENDING


def test_matching_uses_each_person_where_they_are_needed():
    # "1 lead and 1 of {lead, ciso}": a ciso must fill the second slot even if decided first.
    requirements = requirements_from([{"roles": ["lead"], "count": 1}, {"roles": ["lead", "ciso"], "count": 1}])
    votes = [Vote("x", "lead", APPROVE), Vote("y", "ciso", APPROVE)]
    outcome = evaluate(requirements, votes, requester="req")
    assert outcome.status == APPROVED
    assert outcome.counted == {"x": 0, "y": 1}


def test_missing_is_reported_per_requirement():
    outcome = evaluate(LEAD_AND_CUSTODIAN, [Vote("a", "lead", APPROVE)], requester="req")
    assert [m.describe() for m in outcome.missing] == ["1 of custodian"]


@pytest.mark.parametrize(
    "bad", [[], [{"roles": [], "count": 1}], [{"roles": ["a"], "count": 0}], [{"roles": "a", "count": 1}]]
)
def test_bad_requirements_are_refused(bad):
    with pytest.raises(ValueError, match=r"requirement|at least one"):
        requirements_from(bad)


ROLES = ["lead", "custodian", "ciso", "legal"]
people = st.sampled_from(["req", "a", "b", "c", "d", "e"])
votes_strategy = st.lists(
    st.builds(Vote, people, st.sampled_from(ROLES), st.sampled_from([APPROVE, REJECT])), max_size=10
)
requirements_strategy = st.lists(
    st.builds(Requirement, st.frozensets(st.sampled_from(ROLES), min_size=1, max_size=3), st.integers(1, 3)),
    min_size=1,
    max_size=3,
)


@settings(max_examples=400, deadline=None)
@given(requirements_strategy, votes_strategy, st.booleans())
def test_invariants(requirements, votes, veto):
    outcome = evaluate(requirements, votes, requester="req", veto=veto)
    needed = sum(r.count for r in requirements)
    # The requester is never counted, and nobody is counted twice (counted is keyed by person).
    assert "req" not in outcome.counted
    # Each counted person fills a requirement they hold a role for, with an approval.
    for person, index in outcome.counted.items():
        assert any(
            v.approver == person and v.decision == APPROVE and v.role in requirements[index].roles for v in votes
        )
    if outcome.status == APPROVED:
        assert len(outcome.counted) == needed  # distinct people, one per slot
        assert not outcome.missing
        if veto:
            assert not any(v.decision == REJECT and v.approver != "req" for v in votes)
    if veto and any(v.decision == REJECT and v.approver != "req" for v in votes):
        assert outcome.status == REJECTED  # any rejection vetoes


@settings(max_examples=300, deadline=None)
@given(requirements_strategy, votes_strategy, st.builds(Vote, people, st.sampled_from(ROLES), st.just(APPROVE)))
def test_one_more_approval_never_undoes_an_approval(requirements, votes, extra):
    before = evaluate(requirements, votes, requester="req", veto=False)
    after = evaluate(requirements, [*votes, extra], requester="req", veto=False)
    if before.status == APPROVED:
        assert after.status == APPROVED
    assert sum(m.count for m in after.missing) <= sum(m.count for m in before.missing)
