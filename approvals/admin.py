"""Policies are edited here — and saving only *proposes*: the edit becomes a ``policy_change`` approval
request that shows the diff, and the new version takes effect once that request is approved. An edit
below the action's floor is refused on the form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from approvals.floors import floor_of
from approvals.models import ApprovalPolicy, ApprovalRequest, Decision
from approvals.policies import POLICY_FIELDS, policy_change_details
from approvals.services.policy_changes import policy_change_propose
from webapp.api.actors import actor_from_request
from webapp.errors import DomainError

PROPOSAL_ATTRIBUTE = "_sequester_policy_proposal"


class PolicyProposalForm(forms.ModelForm[ApprovalPolicy]):
    change_reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=4000,
        help_text="Why this change: the approvers read it with the diff.",
    )

    class Meta:
        model = ApprovalPolicy
        fields = list(POLICY_FIELDS)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        fields = {name: cleaned.get(name) for name in POLICY_FIELDS}
        try:
            policy_change_details(action=self.instance.action, fields=fields)
        except DomainError as exc:
            raise ValidationError(f"{exc.message} ({exc.code})") from None
        return cleaned


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(admin.ModelAdmin[ApprovalPolicy]):
    list_display = [
        "action",
        "version",
        "is_current",
        "allow_totp",
        "expires_after_seconds",
        "created_at",
        "created_by",
    ]
    list_filter = ["action", "is_current"]
    form = PolicyProposalForm
    readonly_fields = ["action", "version", "is_current", "floor", "created_at", "created_by"]
    fields = ["action", "version", "is_current", "floor", *POLICY_FIELDS, "change_reason", "created_at", "created_by"]

    @admin.display(description="Floor (no edit goes below it)")
    def floor(self, obj: ApprovalPolicy) -> str:
        return floor_of(obj.action).describe()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Only the version in force can be the base of a proposal; older ones are history.
        return super().has_change_permission(request, obj) and (obj is None or obj.is_current)

    def save_model(self, request: HttpRequest, obj: ApprovalPolicy, form: Any, change: bool) -> None:
        # Never edit a version in place, never publish from here: propose the edit for approval.
        fields = {name: form.cleaned_data[name] for name in POLICY_FIELDS}
        proposal = policy_change_propose(
            action=obj.action,
            fields=fields,
            reason=form.cleaned_data["change_reason"],
            proposed_by=request.user,
            actor=actor_from_request(request),
        )
        setattr(request, PROPOSAL_ATTRIBUTE, proposal)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return None  # nothing was saved: the proposal waits for its approval

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None  # the proposal is in the audit trail (approval.requested); nothing changed yet

    def response_change(self, request: HttpRequest, obj: ApprovalPolicy) -> HttpResponse:
        proposal = getattr(request, PROPOSAL_ATTRIBUTE, None)
        if proposal is None:
            return super().response_change(request, obj)
        link = reverse("approval-page", args=[proposal.id])
        messages.success(
            request,
            format_html(
                'Proposed, not yet in force: the change of {} takes effect once <a href="{}">its approval '
                "request</a> is approved (it shows the diff).",
                obj.action,
                link,
            ),
        )
        return HttpResponseRedirect(link)


class ReadOnly(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnly):
    list_display = ["action", "subject_type", "subject_id", "status", "requested_by", "requested_at", "expires_at"]
    list_filter = ["status", "action"]


@admin.register(Decision)
class DecisionAdmin(ReadOnly):
    list_display = ["request", "approver", "role", "verdict", "method", "decided_at", "delivered_at"]
