"""Policies are edited here; saving publishes a new version (requests keep the one they opened under)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from approvals.models import ApprovalPolicy, ApprovalRequest, Decision
from approvals.policies import POLICY_FIELDS, policy_publish


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
    readonly_fields = ["action", "version", "is_current", "created_at", "created_by"]
    fields = ["action", "version", "is_current", *POLICY_FIELDS, "created_at", "created_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ApprovalPolicy, form: Any, change: bool) -> None:
        # Never edit a version in place: publish the edited fields as the next version.
        fields = {name: getattr(obj, name) for name in POLICY_FIELDS}
        published = policy_publish(action=obj.action, fields=fields, actor=request.user.get_username())
        obj.pk = published.pk
        obj.version = published.version


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
