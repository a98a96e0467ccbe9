"""Quorum arithmetic, pure (no Django, no I/O): the database service and the workflows share it.

A policy requires slots, each filled by one approval from a person holding one of the slot's roles
("1 security lead and 1 key custodian" is two slots; "2 of {security lead, CISO}" is two slots of the
same kind). Each approval counts for the role its approver decided in, fills at most one slot, and a
person fills at most one slot (distinct people, nobody counted for two roles). The requester never
counts. With veto on, any rejection rejects the request.

This module is also the one place that says **who may vote** (``vote_refusal``) and what a policy may
never go below (``Floor``): the database service (approvals.services.decisions) and the workflow's
gate validator (ir_workflows.approvals.gate) both call it, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import combinations

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
class Floor:
    """The least an action's policy may ask for, whatever an edit says: a policy below it cannot be
    published, and a stored one (written before the floor existed, or by hand) is raised to it."""

    people: int = 1  # distinct approvers, the requester never among them when excluded
    roles: int = 1  # distinct roles among those approvers
    exclude_requester: bool = False
    webauthn_only: bool = False
    veto: bool = False

    def describe(self) -> str:
        parts = [f"at least {self.people} people in {self.roles} roles"]
        if self.exclude_requester:
            parts.append("requester excluded")
        if self.webauthn_only:
            parts.append("WebAuthn only")
        if self.veto:
            parts.append("any rejection vetoes")
        return ", ".join(parts)


NO_FLOOR = Floor()
# Two distinct people in two roles, never the requester, each with a WebAuthn authenticator.
DUAL_CONTROL = Floor(people=2, roles=2, exclude_requester=True, webauthn_only=True, veto=True)


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
    floor: Floor = NO_FLOOR,
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
        short = _below_floor(requirements, approvals, floor)
        if short is None:
            return Outcome(APPROVED, counted, [])
        missing = [short]
    # Without veto, rejections are recorded but only the quorum or the expiry ends the request.
    return Outcome(PENDING, counted, missing)


def _below_floor(requirements: Sequence[Requirement], approvals: Sequence[Vote], floor: Floor) -> Requirement | None:
    """What the floor still needs once the policy's own requirements are met (None: nothing)."""
    people = len({vote.approver for vote in approvals})
    used = {vote.role for vote in approvals}
    short = max(floor.people - people, floor.roles - len(used), 0)
    if not short:
        return None
    others = frozenset(set().union(*(req.roles for req in requirements)) - used) or frozenset(used)
    return Requirement(others, short)


def eligible_roles(requirements: Sequence[Requirement], holder_roles: Iterable[str]) -> list[str]:
    """The roles (of those a person holds) in which they may decide on a request under these requirements."""
    wanted = set().union(*(req.roles for req in requirements))
    return sorted(set(holder_roles) & wanted)


def floor_shortfalls(requirements: Sequence[Requirement], floor: Floor) -> list[str]:
    """Why requirements (as written, before any vote) fall below a floor; empty when they do not.

    "N roles" means that no set of fewer than N roles can fill every slot: a single role present in
    every requirement would let people of that one role approve alone."""
    problems = []
    if sum(req.count for req in requirements) < floor.people:
        problems.append(f"the policy must require at least {floor.people} approvals")
    every_role = sorted(set().union(*(req.roles for req in requirements)))
    for size in range(1, floor.roles):
        for subset in combinations(every_role, size):
            if all(req.roles & set(subset) for req in requirements):
                problems.append(
                    f"people of {' and '.join(subset)} alone could approve: at least {floor.roles} roles are required"
                )
                return problems
    return problems


# --- who may vote ------------------------------------------------------------------------------
class Refusal(StrEnum):
    """Why a vote is refused; the values are the stable error codes the API reports."""

    CLOSED = "approval_request_closed"
    INVALID_VERDICT = "invalid_approval_request"
    SEPARATION_OF_DUTIES = "separation_of_duties"
    NOT_ELIGIBLE = "not_an_eligible_approver"
    ALREADY_DECIDED = "already_decided"
    TOTP_NOT_ALLOWED = "totp_not_allowed"


@dataclass(frozen=True, slots=True)
class Rules:
    """One policy version as the quorum applies it: its own settings, raised to the action's floor."""

    requirements: tuple[Requirement, ...]
    requester: str
    exclude_requester: bool
    veto: bool
    allow_totp: bool
    floor: Floor = field(default=NO_FLOOR)

    @classmethod
    def of(
        cls,
        *,
        requirements: Iterable[Requirement],
        requester: str,
        exclude_requester: bool,
        veto: bool,
        allow_totp: bool,
        floor: Floor,
    ) -> Rules:
        return cls(
            requirements=tuple(requirements),
            requester=requester,
            exclude_requester=exclude_requester or floor.exclude_requester,
            veto=veto or floor.veto,
            allow_totp=allow_totp and not floor.webauthn_only,
            floor=floor,
        )

    def outcome(self, votes: Iterable[Vote]) -> Outcome:
        requester = self.requester if self.exclude_requester else ""
        return evaluate(self.requirements, votes, requester=requester, veto=self.veto, floor=self.floor)

    def roles_for(self, holder_roles: Iterable[str]) -> list[str]:
        """The roles in which a person holding ``holder_roles`` may decide (empty: none)."""
        return eligible_roles(self.requirements, holder_roles)

    def may_decide(self, approver: str, holder_roles: Iterable[str] | None = None) -> bool:
        """Whether ``approver`` may decide at all (ignoring who already did)."""
        if self.exclude_requester and approver == self.requester:
            return False
        return holder_roles is None or bool(self.roles_for(holder_roles))


@dataclass(frozen=True, slots=True)
class VoteRefused:
    refusal: Refusal
    message: str


def vote_refusal(
    rules: Rules,
    *,
    approver: str,
    role: str,
    verdict: str,
    decided: Iterable[str],
    holder_roles: Iterable[str] | None = None,
    method: str | None = None,
) -> VoteRefused | None:
    """Why this vote may not count (None: it may). ``holder_roles`` are the roles the approver holds
    (the database knows them; the workflow trusts the database and passes None); ``method`` is the
    step-up method used ("webauthn" or "totp"), when known."""
    if verdict not in (APPROVE, REJECT):
        return VoteRefused(Refusal.INVALID_VERDICT, f"the decision is {APPROVE!r} or {REJECT!r}, not {verdict!r}")
    if rules.exclude_requester and approver == rules.requester:
        return VoteRefused(Refusal.SEPARATION_OF_DUTIES, "the requester cannot decide on their own request")
    counted_roles = set().union(*(req.roles for req in rules.requirements))
    if role not in counted_roles:
        return VoteRefused(Refusal.NOT_ELIGIBLE, f"role {role!r} does not count for this policy")
    if holder_roles is not None and role not in set(holder_roles):
        return VoteRefused(Refusal.NOT_ELIGIBLE, f"you cannot decide as {role!r}: you do not hold that role")
    if approver in set(decided):
        return VoteRefused(Refusal.ALREADY_DECIDED, f"{approver} has already decided on this request")
    if method == "totp" and not rules.allow_totp:
        return VoteRefused(Refusal.TOTP_NOT_ALLOWED, "this policy accepts only a WebAuthn authenticator")
    return None


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
