from django.contrib import admin

from webapp.models import ApiToken, StackProbe


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    """Read-only: tokens are issued with ``manage.py issue_token`` and revoked with ``revoke_token``."""

    list_display = ["name", "user", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]
    readonly_fields = ["user", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]
    exclude = ["digest"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: ApiToken | None = None) -> bool:
        return False


@admin.register(StackProbe)
class StackProbeAdmin(admin.ModelAdmin[StackProbe]):
    list_display = ["probe_id", "via", "worker", "created_at"]
