"""The organisation profile's versions, read-only: a new version is published on /regulatory/profile/
(validated with the facts schema and audited), never edited here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from regulatory.models import OrganisationProfile


@admin.register(OrganisationProfile)
class OrganisationProfileAdmin(admin.ModelAdmin[OrganisationProfile]):
    list_display = ["version", "recorded_at", "recorded_by", "note"]
    readonly_fields = ["version", "entities", "deadline_tz", "note", "recorded_by", "recorded_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
