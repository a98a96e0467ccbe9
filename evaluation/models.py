"""Evaluating the control (CEK-19's third verb): the playbook as a controlled document, response-time
targets, post-incident reviews with tracked actions, drills and tabletop exercises, period reports with
their attestation, and the auditor's recorded samples."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class PlaybookVersion(models.Model):
    """One version of the incident-response procedure, rendered from what the workflow runs (never
    retyped), proposed by a person, published once its ``playbook_publish`` approval is given."""

    number = models.PositiveIntegerField(unique=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    change_summary = models.TextField()
    content = models.JSONField(help_text="The procedure as data: steps, roles, policies, rules, audiences, targets")
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of the content's canonical JSON")
    markdown = models.TextField(help_text="The procedure as rendered when proposed")
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(default=timezone.now)
    approval = models.OneToOneField(
        "approvals.ApprovalRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    review_due_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"playbook v{self.number}"


class Measure(models.TextChoices):
    """The response times measured from recorded events, each against a target per severity."""

    CONTAIN = "contain", "Signal received → keys suspended"
    CONFIRM = "confirm", "Incident opened → compromise confirmed (quorum)"
    RESTRICT = "restrict", "Incident opened → every key decrypt-only, verified on its backend"
    REWRAP = "rewrap", "Incident opened → rewrap complete"
    NOTIFY = "notify", "Incident opened → each party notified"
    ACKNOWLEDGE = "acknowledge", "Notification sent → acknowledged"
    DECIDE = "decide", "Approval requested → decided"


class ResponseTarget(models.Model):
    """A service level: how long a measure may take for incidents of one severity."""

    severity = models.CharField(max_length=10)
    measure = models.CharField(max_length=16, choices=Measure.choices)
    seconds = models.PositiveIntegerField()
    updated_by = models.CharField(max_length=150, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["measure", "severity"]
        constraints = [models.UniqueConstraint(fields=["severity", "measure"], name="one_target_per_measure")]

    def __str__(self) -> str:
        return f"{self.measure}/{self.severity} ≤ {self.seconds} s"


class Review(models.Model):
    """The post-incident review: a generated timeline, what went well and what did not, the root cause,
    actions tracked to done; signed off by the commander and the security lead (``post_incident_review``)."""

    incident = models.OneToOneField("incidents.Incident", on_delete=models.PROTECT, related_name="review")
    went_well = models.TextField(blank=True)
    went_badly = models.TextField(blank=True)
    root_cause = models.TextField(blank=True)
    timeline = models.JSONField(default=list, blank=True, help_text="Generated from the audit trail when submitted")
    content_hash = models.CharField(max_length=64, blank=True, help_text="What the sign-off signs")
    submitted_by = models.CharField(max_length=150, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    signoff = models.ForeignKey(
        "approvals.ApprovalRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_off_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"review of {self.incident_id}"


class ReviewAction(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="actions")
    description = models.TextField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_actions")
    due_on = models.DateField()
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.CharField(max_length=150, blank=True)
    done_note = models.TextField(blank=True)

    class Meta:
        ordering = ["done_at", "due_on", "id"]

    def __str__(self) -> str:
        return self.description[:60]


class Drill(models.Model):
    """An exercise of the real playbook on canary keys made for it; its incident is marked exercise."""

    class Via(models.TextChoices):
        CLI = "cli", "manage.py run_drill"
        UI = "ui", "Commander's button"
        SCHEDULE = "schedule", "Temporal schedule"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    incident = models.OneToOneField(
        "incidents.Incident", null=True, blank=True, on_delete=models.PROTECT, related_name="drill"
    )
    scenario = models.TextField()
    severity = models.CharField(max_length=10)
    started_via = models.CharField(max_length=10, choices=Via.choices)
    started_by = models.CharField(max_length=150)
    started_at = models.DateTimeField(default=timezone.now)
    canary_keys = models.JSONField(default=list, help_text="The key ids made for the drill")
    gate_refused = models.BooleanField(null=True, help_text="Did the gate refuse the contained canary to encrypt?")
    gate_detail = models.TextField(blank=True)
    scorecard = models.JSONField(default=dict, blank=True, help_text="Frozen when the drill's incident closed")
    key = models.CharField(max_length=200, null=True, blank=True, unique=True, help_text="A scheduled run's id")

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"drill {self.started_at:%Y-%m-%d}"


class TabletopExercise(models.Model):
    """An exercise held without the engine (a discussion around a scenario), recorded as evidence."""

    held_on = models.DateField()
    scenario = models.TextField()
    participants = models.TextField(help_text="Who took part (names and roles)")
    findings = models.TextField()
    recorded_by = models.CharField(max_length=150)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-held_on"]

    def __str__(self) -> str:
        return f"tabletop {self.held_on}"


class PeriodReport(models.Model):
    """A period's report of the control, kept as generated (signed PDF and its answers); attested by the
    control owner through ``control_attestation``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    since = models.DateField()
    until = models.DateField()
    generated_at = models.DateTimeField(default=timezone.now)
    generated_by = models.CharField(max_length=150)
    answers = models.JSONField(help_text="CAIQ answer, audit guidelines and CCM checks, as in the report")
    pdf = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    attestation = models.ForeignKey(
        "approvals.ApprovalRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    attested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-generated_at"]

    def __str__(self) -> str:
        return f"report {self.since}..{self.until}"


class AuditSample(models.Model):
    """A random sample of a period's incidents drawn for an auditor: the population, the seed and the
    draw are recorded so anyone can redraw it; each sampled incident's case file is then exported."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    since = models.DateField()
    until = models.DateField()
    population = models.JSONField(help_text="Every incident reference of the period, in order")
    size = models.PositiveIntegerField()
    seed = models.CharField(max_length=64)
    chosen = models.JSONField(help_text="The references drawn")
    exports = models.JSONField(default=dict, help_text="reference → case-file export id")
    drawn_by = models.CharField(max_length=150)
    drawn_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-drawn_at"]

    def __str__(self) -> str:
        return f"sample of {self.size} ({self.since}..{self.until})"
