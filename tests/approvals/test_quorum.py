"""Quorum policies: a table of cases, and property tests of the invariants."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvals.quorum import (
    APPROVE,
    APPROVED,
    DUAL_CONTROL,
    PENDING,
    REJECT,
    REJECTED,
    Refusal,
    Requirement,
    Rules,
    Vote,
    evaluate,
    floor_shortfalls,
    requirements_from,
    vote_refusal,
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


# --- floors and who may vote (the rules the service and the workflow share) ------------------------
def test_a_floor_is_applied_when_counting_whatever_the_policy_says():
    one_custodian = requirements_from([{"roles": ["custodian"], "count": 1}])
    votes = [Vote("a", "custodian", APPROVE)]
    assert evaluate(one_custodian, votes, requester="req").status == APPROVED
    floored = evaluate(one_custodian, votes, requester="req", floor=DUAL_CONTROL)
    assert floored.status == PENDING
    assert floored.missing[0].count == 1
    # A second person in the same role is still one role short.
    votes.append(Vote("b", "custodian", APPROVE))
    assert evaluate(one_custodian, votes, requester="req", floor=DUAL_CONTROL).status == PENDING
    votes.append(Vote("c", "ciso", APPROVE))
    assert evaluate(one_custodian, votes, requester="req", floor=DUAL_CONTROL).status == APPROVED


@pytest.mark.parametrize(
    ("requirements", "below"),
    [
        ([{"roles": ["custodian"], "count": 1}], True),
        ([{"roles": ["custodian"], "count": 2}], True),  # two people, one role
        ([{"roles": ["lead", "ciso"], "count": 2}], True),  # two leads would do
        ([{"roles": ["lead", "ciso"], "count": 1}, {"roles": ["ciso", "custodian"], "count": 1}], True),  # 2 CISOs
        ([{"roles": ["lead"], "count": 1}, {"roles": ["ciso"], "count": 1}], False),
        ([{"roles": ["lead", "ciso"], "count": 1}, {"roles": ["custodian"], "count": 1}], False),
    ],
)
def test_floor_shortfalls_of_written_requirements(requirements, below):
    assert bool(floor_shortfalls(requirements_from(requirements), DUAL_CONTROL)) is below


def test_rules_raise_a_weak_policy_to_its_floor():
    rules = Rules.of(
        requirements=LEAD_AND_CUSTODIAN,
        requester="req",
        exclude_requester=False,
        veto=False,
        allow_totp=True,
        floor=DUAL_CONTROL,
    )
    assert (rules.exclude_requester, rules.veto, rules.allow_totp) == (True, True, False)
    assert not rules.may_decide("req", ["lead"])
    assert rules.may_decide("a", ["lead"])
    assert not rules.may_decide("a", ["auditor"])


@pytest.mark.parametrize(
    ("vote", "decided", "held", "method", "expected"),
    [
        (("a", "lead", APPROVE), [], ["lead"], "webauthn", None),
        (("req", "lead", APPROVE), [], ["lead"], "webauthn", Refusal.SEPARATION_OF_DUTIES),
        (("a", "ciso", APPROVE), [], ["ciso"], "webauthn", Refusal.NOT_ELIGIBLE),  # role does not count
        (("a", "custodian", APPROVE), [], ["lead"], "webauthn", Refusal.NOT_ELIGIBLE),  # role not held
        (("a", "lead", APPROVE), ["a"], ["lead"], "webauthn", Refusal.ALREADY_DECIDED),
        (("a", "lead", "maybe"), [], ["lead"], "webauthn", Refusal.INVALID_VERDICT),
        (("a", "lead", APPROVE), [], ["lead"], "totp", Refusal.TOTP_NOT_ALLOWED),
        (("a", "custodian", APPROVE), [], None, None, None),  # the workflow trusts the database on roles
    ],
)
def test_vote_refusal(vote, decided, held, method, expected):
    rules = Rules.of(
        requirements=LEAD_AND_CUSTODIAN,
        requester="req",
        exclude_requester=True,
        veto=True,
        allow_totp=True,
        floor=DUAL_CONTROL,
    )
    approver, role, verdict = vote
    refused = vote_refusal(
        rules, approver=approver, role=role, verdict=verdict, decided=decided, holder_roles=held, method=method
    )
    assert (refused.refusal if refused else None) == expected
