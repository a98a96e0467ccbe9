"""An incident's regulatory record: each assessment (facts, who, when, what changed), the obligations
it produced, and the filings that discharge them."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class Assessment(models.Model):
    """The facts as recorded at one moment, and what the engine computed from them (never edited)."""

    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="regulatory_assessments")
    version = models.PositiveIntegerField()
    facts = models.JSONField(help_text="The facts as recorded (docs/regulatory-facts.md)")
    obligations = models.JSONField(help_text='{"obligations": [...]} as the engine computed them')
    changes = models.JSONField(default=list, blank=True, help_text="What changed against the previous version")
    catalogue = models.JSONField(default=list, blank=True, help_text="The catalogue files used")
    recorded_by = models.CharField(max_length=150)
    recorded_at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["incident", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "version"], name="regulatory_assessment_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} v{self.version}"


class Obligation(models.Model):
    """One rule's outcome for an incident, as of its latest assessment."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="regulatory_obligations")
    rule_id = models.CharField(max_length=64)
    status = models.CharField(max_length=20)
    due_at = models.DateTimeField(null=True, blank=True)
    trigger_event = models.CharField(max_length=64)
    trigger_at = models.DateTimeField(null=True, blank=True)
    regime = models.CharField(max_length=200)
    recipient = models.TextField()
    citation = models.TextField()
    confidence = models.CharField(max_length=10)
    detail = models.JSONField(help_text="The engine's obligation (reasons, deadline, milestones, relief)")
    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)
    clock_workflow_id = models.CharField(max_length=200, blank=True, help_text="Its running Temporal clock")
    clock_generation = models.PositiveIntegerField(default=0, help_text="Clocks started so far (workflow id suffix)")

    class Meta:
        ordering = ["incident", "due_at", "rule_id"]
        constraints = [models.UniqueConstraint(fields=["incident", "rule_id"], name="regulatory_obligation_unique")]
        indexes = [models.Index(fields=["status", "due_at"], name="regulatory_due_idx")]

    def __str__(self) -> str:
        return f"{self.rule_id} ({self.status})"


class Filing(models.Model):
    """Evidence that an obligation was discharged: when, by whom, how, the reference, the attachments."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    obligation = models.ForeignKey(Obligation, on_delete=models.PROTECT, related_name="filings")
    filed_at = models.DateTimeField()
    filed_by = models.CharField(max_length=150)
    recorded_at = models.DateTimeField(default=timezone.now)
    channel = models.CharField(max_length=200, help_text="e.g. EDGAR, OCR portal, CNIL online form, e-mail")
    reference = models.CharField(max_length=200, blank=True, help_text="The recipient's reference number")
    attachments = models.JSONField(default=list, blank=True, help_text='[{"name", "sha256", "size"}]')
    late_reason = models.TextField(blank=True)
    due_at = models.DateTimeField(null=True, blank=True, help_text="The obligation's due time when it was filed")
    signoff = models.ForeignKey(
        "approvals.ApprovalRequest", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-filed_at"]

    def __str__(self) -> str:
        return f"{self.obligation_id} filed {self.filed_at:%Y-%m-%d %H:%M}"

    @property
    def on_time(self) -> bool:
        return self.due_at is None or self.filed_at <= self.due_at


class OrganisationProfile(models.Model):
    """One version of the organisation's legal entities: the facts that do not change per incident (roles,
    sector, registrations, card brands, establishments), which pre-fill every assessment. Never edited:
    a change publishes the next version (audited); assessments name the version they used."""

    version = models.PositiveIntegerField(unique=True)
    entities = models.JSONField(help_text="The legal entities (facts schema 'entity'); the first is the principal one")
    deadline_tz = models.CharField(max_length=64, help_text="The principal location's zone for day-based deadlines")
    note = models.TextField(blank=True)
    recorded_by = models.CharField(max_length=150)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"organisation profile v{self.version}"
