"""The organisation profile's versions, read-only: a new version is published on /regulatory/profile/
(validated with the facts schema and audited), never edited here."""

from __future__ import annotations

from django.contrib import admin

from keyvault.admin import ReadOnlyAdmin
from regulatory.models import OrganisationProfile


@admin.register(OrganisationProfile)
class OrganisationProfileAdmin(ReadOnlyAdmin):
    list_display = ["version", "recorded_at", "recorded_by", "note"]
    readonly_fields = ["version", "entities", "deadline_tz", "note", "recorded_by", "recorded_at"]
