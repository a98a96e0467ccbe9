"""Read-mostly admin: keys are inspected here; state changes go through the services (API, playbook)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.actors import Actor
from keyvault.models import DataAsset, EncryptionException, KeyManager, KeyVersion, ManagedKey, System
from keyvault.services.connectors import credentials_unseal
from keyvault.services.managers import key_manager_save, key_manager_sync, key_manager_test, key_manager_validate
from webapp.errors import DomainError


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


# --- key managers ----------------------------------------------------------------------------------
SECRET_FIELDS = ("token", "client_cert", "client_key", "access_key_id", "secret_access_key")
MANAGER_FIELDS = ["name", "kind", "url", "mount", "region", "governed_policy", "options"]


class KeyManagerForm(forms.ModelForm[KeyManager]):
    """Secrets are write-only: typed here, tested against the manager, sealed; never shown again."""

    token = forms.CharField(required=False, widget=forms.PasswordInput, help_text="OpenBao / Vault token")
    client_cert = forms.CharField(required=False, widget=forms.Textarea, help_text="KMIP client certificate (PEM)")
    client_key = forms.CharField(
        required=False, widget=forms.PasswordInput, help_text="KMIP client private key (PEM, one line is fine)"
    )
    access_key_id = forms.CharField(required=False, help_text="AWS access key id (empty: the default chain)")
    secret_access_key = forms.CharField(required=False, widget=forms.PasswordInput)

    class Meta:
        model = KeyManager
        fields = MANAGER_FIELDS

    def credentials(self) -> dict[str, str] | None:
        given = {name: self.cleaned_data.get(name, "").strip() for name in SECRET_FIELDS}
        given = {name: value for name, value in given.items() if value}
        return given or None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        manager = self.instance
        for field in MANAGER_FIELDS:
            if field in data:
                setattr(manager, field, data[field])
        credentials = self.credentials()
        if credentials is None and manager.pk is not None:
            credentials = credentials_unseal(KeyManager.objects.get(pk=manager.pk))
        try:
            key_manager_validate(manager, credentials or {})
            self.tested = key_manager_test(manager=manager, credentials=credentials or {})
        except DomainError as exc:
            raise forms.ValidationError(f"{exc.code}: {exc.message}") from None
        return data


@admin.register(KeyManager)
class KeyManagerAdmin(admin.ModelAdmin[KeyManager]):
    form = KeyManagerForm
    list_display = ["name", "kind", "url", "region", "governed_policy", "last_sync_at"]
    readonly_fields = ["created_at", "last_sync_at", "last_sync_report"]
    actions = ["test_connection", "sync_now"]

    def get_readonly_fields(self, request: HttpRequest, obj: KeyManager | None = None) -> list[str]:
        fields = list(self.readonly_fields)
        return [*fields, "name", "kind"] if obj is not None else fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # keys point at it; retire a manager by hand once its keys are gone

    def save_model(self, request: HttpRequest, obj: KeyManager, form: Any, change: bool) -> None:
        key_manager_save(
            actor=Actor.for_user(request.user), manager=obj, credentials=form.credentials(), created=not change
        )

    @admin.action(description="Test the connection")
    def test_connection(self, request: HttpRequest, queryset: QuerySet[KeyManager]) -> None:
        for manager in queryset:
            try:
                self.message_user(request, f"{manager.name}: {key_manager_test(manager=manager)}")
            except DomainError as exc:
                self.message_user(request, f"{manager.name}: {exc.code}: {exc.message}", messages.ERROR)

    @admin.action(description="Sync the inventory now")
    def sync_now(self, request: HttpRequest, queryset: QuerySet[KeyManager]) -> None:
        for manager in queryset:
            try:
                report = key_manager_sync(name=manager.name, actor=Actor.for_user(request.user))
            except DomainError as exc:
                self.message_user(request, f"{manager.name}: {exc.code}: {exc.message}", messages.ERROR)
                continue
            self.message_user(
                request,
                f"{manager.name}: {len(report.imported)} imported, {len(report.changed)} changed, "
                f"{len(report.vanished)} vanished",
            )
