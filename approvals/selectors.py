"""Reads of approvals: who may decide, what awaits a person, what a request still needs."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from approvals import quorum
from approvals.models import ApprovalPolicy, ApprovalRequest, Decision
from approvals.policies import policy_requirements
from webapp.roles import user_roles


def person_roles(user: Any) -> list[str]:
    return [role.slug for role in user_roles(user)]


def decision_roles(policy: ApprovalPolicy, user: Any) -> list[str]:
    """The roles in which ``user`` may decide under ``policy`` (empty: not an approver for it)."""
    return quorum.eligible_roles(policy_requirements(policy), person_roles(user))


def request_outcome(request: ApprovalRequest) -> quorum.Outcome:
    votes = [
        quorum.Vote(d.approver.get_username(), d.role, d.verdict)
        for d in request.decisions.select_related("approver").order_by("decided_at")
    ]
    requester = request.requested_by.get_username() if request.policy.exclude_requester else ""
    return quorum.evaluate(
        policy_requirements(request.policy), votes, requester=requester, veto=request.policy.veto_on_reject
    )


def requests_awaiting(user: Any) -> QuerySet[ApprovalRequest]:
    """Pending requests this person may still decide, most urgent first."""
    roles = set(person_roles(user))
    pending = (
        ApprovalRequest.objects.filter(status=ApprovalRequest.Status.PENDING)
        .exclude(decisions__approver=user)
        .select_related("policy", "requested_by")
        .order_by("expires_at")
    )
    ids = [
        r.id
        for r in pending
        if (not r.policy.exclude_requester or r.requested_by_id != user.pk)
        and quorum.eligible_roles(policy_requirements(r.policy), roles)
    ]
    return ApprovalRequest.objects.filter(id__in=ids).select_related("policy", "requested_by").order_by("expires_at")


def eligible_approvers(request: ApprovalRequest, *, extra_roles: tuple[str, ...] = ()) -> list[Any]:
    """People who may still decide (or hold ``extra_roles``, e.g. the escalation role)."""
    requirements = policy_requirements(request.policy)
    wanted = set().union(*(req.roles for req in requirements)) | set(extra_roles)
    decided = set(Decision.objects.filter(request=request).values_list("approver_id", flat=True))
    users = get_user_model().objects.filter(groups__name__in=wanted, is_active=True).distinct()
    return [
        u
        for u in users
        if u.pk not in decided and (not request.policy.exclude_requester or u.pk != request.requested_by_id)
    ]


def request_decidable(action: str, requester: Any) -> bool:
    """Whether a request for ``action`` opened now by ``requester`` could reach its quorum: enough active
    people other than the requester (when the policy excludes them) hold the roles it needs."""
    from approvals.policies import policy_current

    policy = policy_current(action)
    requirements = policy_requirements(policy)
    wanted = set().union(*(req.roles for req in requirements))
    users = get_user_model().objects.filter(groups__name__in=wanted, is_active=True).distinct()
    holders = {
        u.get_username(): set(person_roles(u))
        for u in users
        if not (policy.exclude_requester and u.pk == getattr(requester, "pk", None))
    }
    return quorum.quorum_possible(requirements, holders)
