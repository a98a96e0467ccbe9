"""Quorum arithmetic, pure (no Django, no I/O): the database service and the workflows share it.

A policy requires slots, each filled by one approval from a person holding one of the slot's roles
("1 security lead and 1 key custodian" is two slots; "2 of {security lead, CISO}" is two slots of the
same kind). Each approval counts for the role its approver decided in, fills at most one slot, and a
person fills at most one slot (distinct people, nobody counted for two roles). The requester never
counts. With veto on, any rejection rejects the request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"
APPROVE = "approve"
REJECT = "reject"


@dataclass(frozen=True, slots=True)
class Requirement:
    roles: frozenset[str]
    count: int

    def describe(self) -> str:
        names = " or ".join(sorted(self.roles))
        return f"{self.count} of {names}"


@dataclass(frozen=True, slots=True)
class Vote:
    approver: str
    role: str
    decision: str  # APPROVE or REJECT


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str
    counted: dict[str, int]  # approver -> index of the slot they fill
    missing: list[Requirement]  # what is still required (empty once approved)
    vetoed_by: str | None = None


def requirements_from(data: Iterable[dict[str, object]]) -> list[Requirement]:
    requirements = []
    for entry in data:
        roles = entry["roles"]
        count = entry["count"]
        if not isinstance(roles, list | tuple | frozenset) or not roles or not isinstance(count, int) or count < 1:
            raise ValueError(f"a requirement needs a non-empty list of roles and a count >= 1, got {entry!r}")
        requirements.append(Requirement(frozenset(str(r) for r in roles), count))
    if not requirements:
        raise ValueError("a policy requires at least one approval")
    return requirements


def _slots(requirements: Sequence[Requirement]) -> list[tuple[int, frozenset[str]]]:
    return [(index, req.roles) for index, req in enumerate(requirements) for _ in range(req.count)]


def _match(votes: Sequence[Vote], slots: Sequence[tuple[int, frozenset[str]]]) -> dict[int, int]:
    """Maximum bipartite matching of approvals to slots (augmenting paths; sizes are tiny)."""
    slot_of_vote: dict[int, int] = {}
    vote_of_slot: dict[int, int] = {}

    def augment(v: int, seen: set[int]) -> bool:
        for s, (_, roles) in enumerate(slots):
            if votes[v].role in roles and s not in seen:
                seen.add(s)
                if s not in vote_of_slot or augment(vote_of_slot[s], seen):
                    vote_of_slot[s] = v
                    slot_of_vote[v] = s
                    return True
        return False

    for v in range(len(votes)):
        augment(v, set())
    return slot_of_vote


def evaluate(
    requirements: Sequence[Requirement],
    votes: Iterable[Vote],
    *,
    requester: str,
    veto: bool = True,
) -> Outcome:
    ordered = list(votes)
    if veto:
        for vote in ordered:
            if vote.decision == REJECT and vote.approver != requester:
                return Outcome(REJECTED, {}, list(requirements), vetoed_by=vote.approver)
    # One counted approval per person (their first), never the requester's.
    seen: set[str] = set()
    approvals: list[Vote] = []
    for vote in ordered:
        if vote.decision == APPROVE and vote.approver != requester and vote.approver not in seen:
            seen.add(vote.approver)
            approvals.append(vote)
    slots = _slots(requirements)
    matched = _match(approvals, slots)
    filled = set(matched.values())
    missing_counts: dict[int, int] = {}
    for s, (index, _) in enumerate(slots):
        if s not in filled:
            missing_counts[index] = missing_counts.get(index, 0) + 1
    missing = [Requirement(requirements[i].roles, n) for i, n in sorted(missing_counts.items())]
    counted = {approvals[v].approver: slots[s][0] for v, s in matched.items()}
    if not missing:
        return Outcome(APPROVED, counted, [])
    # Without veto, rejections are recorded but only the quorum or the expiry ends the request.
    return Outcome(PENDING, counted, missing)


def eligible_roles(requirements: Sequence[Requirement], holder_roles: Iterable[str]) -> list[str]:
    """The roles (of those a person holds) in which they may decide on a request under these requirements."""
    wanted = set().union(*(req.roles for req in requirements))
    return sorted(set(holder_roles) & wanted)


def quorum_possible(requirements: Sequence[Requirement], holders: dict[str, set[str]]) -> bool:
    """Whether these people (name -> roles they hold) could fill every slot, one slot each: if not, a
    request under these requirements could never be decided."""
    slots = _slots(requirements)
    person_of_slot: dict[int, str] = {}

    def augment(person: str, seen: set[int]) -> bool:
        for s, (_, roles) in enumerate(slots):
            if roles & holders[person] and s not in seen:
                seen.add(s)
                if s not in person_of_slot or augment(person_of_slot[s], seen):
                    person_of_slot[s] = person
                    return True
        return False

    for person in sorted(holders):
        augment(person, set())
    return len(person_of_slot) == len(slots)
