"""A case-file export: requested by someone, rendered by a Celery task, kept (signed PDF) for download."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class CaseFileExport(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RENDERING = "rendering", "Rendering"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    incident = models.ForeignKey("incidents.Incident", on_delete=models.PROTECT, related_name="case_files")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="0 to 100")
    stage = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    events = models.PositiveIntegerField(default=0, help_text="Audit events in the appendix")
    signer = models.CharField(max_length=300, blank=True, help_text="Subject of the signing certificate")

    class Meta:
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["incident", "-requested_at"])]

    def __str__(self) -> str:
        return f"case file of {self.incident_id} ({self.status})"

    @property
    def filename(self) -> str:
        return f"{self.incident.reference}-case-file-{self.requested_at:%Y%m%dT%H%M%SZ}.pdf"


class CaseFileDocument(models.Model):
    """The signed PDF itself, apart from its export's row (listing exports never loads megabytes)."""

    export = models.OneToOneField(CaseFileExport, on_delete=models.CASCADE, primary_key=True, related_name="document")
    pdf = models.BinaryField()

    def __str__(self) -> str:
        return f"PDF of {self.export_id}"
