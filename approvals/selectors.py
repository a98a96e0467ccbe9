"""Reads of approvals: who may decide, what awaits a person, what a request still needs."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from approvals import quorum
from approvals.models import ApprovalRequest, Decision
from approvals.policies import policy_rules
from webapp.roles import user_roles


def person_roles(user: Any) -> list[str]:
    return [role.slug for role in user_roles(user)]


def request_rules(request: ApprovalRequest) -> quorum.Rules:
    """The rules a request is decided under: its policy version, raised to its action's floor."""
    return policy_rules(request.policy, requester=request.requested_by.get_username())


def decision_roles(request: ApprovalRequest, user: Any) -> list[str]:
    """The roles in which ``user`` may decide on ``request`` (empty: not an approver for it)."""
    rules = request_rules(request)
    if not rules.may_decide(user.get_username()):
        return []
    return rules.roles_for(person_roles(user))


def decision_refusal(request: ApprovalRequest, user: Any) -> str | None:
    """Why ``user`` may not decide on ``request`` now, as the refusal's stable code (None: they may).
    The same rules as deciding (approvals.quorum.vote_refusal), asked before any step-up."""
    if request.status != ApprovalRequest.Status.PENDING:
        return quorum.Refusal.CLOSED.value
    if request.expires_at <= timezone.now():
        return "approval_request_expired"
    rules = request_rules(request)
    held = person_roles(user)
    eligible = rules.roles_for(held)
    refused = quorum.vote_refusal(
        rules,
        approver=user.get_username(),
        role=eligible[0] if eligible else "",
        verdict=quorum.APPROVE,
        decided=request.decisions.values_list("approver__username", flat=True),
        holder_roles=held,
    )
    return refused.refusal.value if refused else None


def request_votes(request: ApprovalRequest) -> list[quorum.Vote]:
    return [
        quorum.Vote(d.approver.get_username(), d.role, d.verdict)
        for d in request.decisions.select_related("approver").order_by("decided_at")
    ]


def request_outcome(request: ApprovalRequest) -> quorum.Outcome:
    return request_rules(request).outcome(request_votes(request))


def requests_awaiting(user: Any) -> QuerySet[ApprovalRequest]:
    """Pending requests this person may still decide, most urgent first."""
    roles = person_roles(user)
    pending = (
        ApprovalRequest.objects.filter(status=ApprovalRequest.Status.PENDING)
        .exclude(decisions__approver=user)
        .select_related("policy", "requested_by")
        .order_by("expires_at")
    )
    ids = [r.id for r in pending if request_rules(r).may_decide(user.get_username(), roles)]
    return ApprovalRequest.objects.filter(id__in=ids).select_related("policy", "requested_by").order_by("expires_at")


def eligible_approvers(request: ApprovalRequest, *, extra_roles: tuple[str, ...] = ()) -> list[Any]:
    """People who may still decide (or hold ``extra_roles``, e.g. the escalation role)."""
    rules = request_rules(request)
    wanted = set().union(*(req.roles for req in rules.requirements)) | set(extra_roles)
    decided = set(Decision.objects.filter(request=request).values_list("approver_id", flat=True))
    users = get_user_model().objects.filter(groups__name__in=wanted, is_active=True).distinct()
    return [u for u in users if u.pk not in decided and rules.may_decide(u.get_username())]


def request_decidable(action: str, requester: Any) -> bool:
    """Whether a request for ``action`` opened now by ``requester`` could reach its quorum: enough active
    people other than the requester (when the policy, raised to its floor, excludes them) hold the roles
    it needs."""
    from approvals.policies import policy_current, policy_rules

    rules = policy_rules(policy_current(action), requester=requester.get_username())
    wanted = set().union(*(req.roles for req in rules.requirements))
    users = get_user_model().objects.filter(groups__name__in=wanted, is_active=True).distinct()
    holders = {u.get_username(): set(person_roles(u)) for u in users if rules.may_decide(u.get_username())}
    return quorum.quorum_possible(rules.requirements, holders)
