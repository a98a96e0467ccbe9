"""Read-mostly admin: keys are inspected here; state changes go through the services (API, playbook)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from keyvault.models import DataAsset, EncryptionException, KeyVersion, ManagedKey, System


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class KeyVersionInline(admin.TabularInline[KeyVersion, ManagedKey]):
    model = KeyVersion
    fields = ["version", "fingerprint", "created_at", "destroyed_at"]
    readonly_fields = ["version", "fingerprint", "created_at", "destroyed_at"]
    can_delete = False
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ManagedKey)
class ManagedKeyAdmin(ReadOnlyAdmin):
    list_display = ["alias", "id", "state", "backend", "purpose", "ai_category", "current_version", "state_changed_at"]
    list_filter = ["state", "backend", "ai_category"]
    search_fields = ["alias", "id", "purpose", "versions__fingerprint"]
    inlines = [KeyVersionInline]


@admin.register(EncryptionException)
class EncryptionExceptionAdmin(ReadOnlyAdmin):
    list_display = ["key", "principal", "purpose", "operations_used", "operation_budget", "expires_at", "revoked_at"]


@admin.register(System)
class SystemAdmin(admin.ModelAdmin[System]):
    list_display = ["name", "owner"]
    search_fields = ["name"]


@admin.register(DataAsset)
class DataAssetAdmin(admin.ModelAdmin[DataAsset]):
    list_display = ["name", "system", "record_count", "encrypted"]
    search_fields = ["name"]
