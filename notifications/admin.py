"""The party registry is kept here; messages, deliveries and acks are read-only (services write them)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.template.response import TemplateResponse

from keyvault.admin import ReadOnlyAdmin
from notifications.models import AckToken, Channel, Contact, Delivery, Notification, Party
from notifications.services.registry import party_change_record
from notifications.services.secrets import channel_secret_rotate
from webapp.api.actors import actor_from_request

URL_FIELDS: dict[type[models.Field[Any, Any]], dict[str, Any]] = {models.URLField: {"assume_scheme": "https"}}


class ContactInline(admin.TabularInline[Contact, Party]):
    model = Contact
    extra = 1


class ChannelInline(admin.TabularInline[Channel, Party]):
    model = Channel
    fields = ["kind", "url", "active", "has_secret"]
    readonly_fields = ["has_secret"]
    formfield_overrides = URL_FIELDS
    extra = 1

    @admin.display(boolean=True, description="signing secret")
    def has_secret(self, channel: Channel) -> bool:
        return bool(channel.secret_sealed)


@admin.register(Party)
class PartyAdmin(admin.ModelAdmin[Party]):
    list_display = ["name", "kind", "role", "ack_sla_minutes", "reminders", "every_incident", "active"]
    list_filter = ["role", "kind", "active"]
    search_fields = ["name", "contacts__email"]
    filter_horizontal = ["keys", "systems", "data_assets", "members"]
    inlines = [ContactInline, ChannelInline]

    def save_related(self, request: HttpRequest, form: ModelForm[Party], formsets: Any, change: bool) -> None:
        # After the relations and inlines are saved, so that the audit event shows the whole entry.
        super().save_related(request, form, formsets, change)
        party_change_record(
            party=form.instance, change="changed" if change else "created", actor=actor_from_request(request)
        )

    def delete_model(self, request: HttpRequest, obj: Party) -> None:
        party_change_record(party=obj, change="deleted", actor=actor_from_request(request))
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Party]) -> None:
        for party in queryset:
            party_change_record(party=party, change="deleted", actor=actor_from_request(request))
        super().delete_queryset(request, queryset)


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin[Channel]):
    list_display = ["party", "kind", "url", "active"]
    list_filter = ["kind", "active"]
    actions = ["rotate_secret"]
    formfield_overrides = URL_FIELDS

    def save_model(self, request: HttpRequest, obj: Channel, form: ModelForm[Channel], change: bool) -> None:
        super().save_model(request, obj, form, change)
        party_change_record(party=obj.party, change="changed", actor=actor_from_request(request))

    @admin.action(description="Make a new webhook signing secret (shown once)")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Channel]) -> TemplateResponse:
        """Shown on this response only: never in a message cookie, a log or the database in clear."""
        actor = actor_from_request(request)
        rotated = [
            (channel, channel_secret_rotate(channel_id=channel.pk, actor=actor))
            for channel in queryset.filter(kind=Channel.Kind.WEBHOOK).select_related("party")
        ]
        context = {**self.admin_site.each_context(request), "title": "New webhook signing secrets", "rotated": rotated}
        response = TemplateResponse(request, "notifications/admin_secrets.html", context)
        response["Cache-Control"] = "no-store"
        return response


class DeliveryInline(admin.TabularInline[Delivery, Notification]):
    model = Delivery
    fields = ("channel", "purpose", "sequence", "status", "attempts", "sent_at", "last_error")
    readonly_fields = fields
    can_delete = False
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["idempotency_key", "party", "status", "sent_at", "acked_at", "acked_by", "escalated_at"]
    list_filter = ["status", "audience"]
    search_fields = ["idempotency_key", "party__name", "incident__reference"]
    inlines = [DeliveryInline]


@admin.register(AckToken)
class AckTokenAdmin(ReadOnlyAdmin):
    list_display = ["notification", "created_at", "expires_at", "used_at"]
    exclude = ["token_hash"]
