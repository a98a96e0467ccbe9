"""Signals, incidents and the keys they involve; webhook sources; rewrap progress."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}


class Incident(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    class Step(models.TextChoices):
        DETECT = "detect", "Detect"
        CONTAIN = "contain", "Contain"
        CONFIRM = "confirm", "Confirm"
        RESTORE = "restore", "Restore (false positive)"
        RESTRICT = "restrict", "Segregate and restrict"
        REWRAP = "rewrap", "Replace and rewrap"
        NOTIFY = "notify", "Notify"
        REGULATORY = "regulatory", "Regulatory clocks"
        CLOSE = "close", "Close"
        CLOSED = "closed", "Closed"

    class Resolution(models.TextChoices):
        NONE = "", "—"
        COMPROMISE = "compromise", "Confirmed compromise"
        FALSE_POSITIVE = "false_positive", "False positive"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=32, unique=True, help_text="INC-YYYY-NNNN, for people")
    title = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    step = models.CharField(max_length=12, choices=Step.choices, default=Step.CONTAIN)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.HIGH)
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True, default="")
    commander = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="commanded_incidents"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    detected_at = models.DateTimeField(default=timezone.now)
    aware_at = models.DateTimeField(null=True, blank=True, help_text="When the organisation became aware (clocks)")
    closed_at = models.DateTimeField(null=True, blank=True)
    blast_radius = models.JSONField(default=dict, blank=True)
    workflow_id = models.CharField(max_length=64)
    attention = models.TextField(blank=True, help_text="Set when a step needs the commander (stalled, failing)")
    exercise = models.BooleanField(default=False, help_text="A drill on canary keys: never a real compromise")
    closure_request = models.JSONField(
        default=dict, blank=True, help_text="The commander's latest closure request: choice, open items, waivers"
    )

    class Meta:
        ordering = ["-opened_at"]

    def __str__(self) -> str:
        return self.reference


class IncidentKey(models.Model):
    class Via(models.TextChoices):
        SIGNAL = "signal", "Named by a signal"
        CASCADE = "cascade", "Wrapped by a named key"
        COMMANDER = "commander", "Added by the commander"
        DRIFT = "drift", "Re-enabled behind Sequester's back (drift check)"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="incident_keys")
    key = models.ForeignKey("keyvault.ManagedKey", on_delete=models.PROTECT, related_name="incident_links")
    via = models.CharField(max_length=10, choices=Via.choices)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["incident", "key"], name="key_once_per_incident")]

    def __str__(self) -> str:
        return f"{self.incident_id}:{self.key_id}"


class Signal(models.Model):
    """A compromise signal as received (CloudEvents 1.0), deduplicated by (sender, source, event id):
    one sender can never swallow another's signal by posting its event id first."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sender = models.CharField(
        max_length=200, default="", help_text="Who authenticated it: webhook:<name>, principal:<user>, system:…"
    )
    source = models.CharField(max_length=300)
    event_id = models.CharField(max_length=300)
    type = models.CharField(max_length=300)
    received_via = models.CharField(max_length=32, help_text="api, webhook:<name>, ui")
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.HIGH)
    occurred_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    key_references = models.JSONField(help_text="How the signal named the keys")
    unresolved = models.JSONField(default=list, blank=True)
    evidence = models.JSONField(default=dict, blank=True, help_text="Never a secret: leaked values are dropped")
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="signals")
    reported_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["sender", "source", "event_id"], name="signal_once_per_sender_source")
        ]

    def __str__(self) -> str:
        return f"{self.source}#{self.event_id}"


class SignalSourceClaim(models.Model):
    """A CloudEvents ``source`` (and everything below it) that one sender owns; claims never overlap
    across senders. Made with ``manage.py claim_signal_source`` (or ``issue_token --source``,
    ``add_webhook_source --source``)."""

    prefix = models.CharField(max_length=300, unique=True)
    owner = models.CharField(max_length=200, help_text="webhook:<name> or principal:<username>")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["prefix"]

    def __str__(self) -> str:
        return f"{self.prefix} → {self.owner}"


class WebhookSource(models.Model):
    """A detector allowed to post to /api/v1/webhooks/<name>, with its HMAC secret (sealed)."""

    class Kind(models.TextChoices):
        GENERIC = "generic", "Generic (CloudEvent or simple JSON)"
        GITHUB = "github", "GitHub secret scanning"
        AWS = "aws", "AWS EventBridge / CloudTrail"

    name = models.SlugField(max_length=64, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    owner = models.CharField(max_length=200, blank=True, help_text="Who runs this detector (team or person)")
    secret_sealed = models.BinaryField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class RewrapProgress(models.Model):
    """How far the rewrap of one compromised key's data has come (the UI shows it)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="rewraps")
    key = models.ForeignKey("keyvault.ManagedKey", on_delete=models.PROTECT, related_name="+")
    replacement = models.ForeignKey("keyvault.ManagedKey", on_delete=models.PROTECT, related_name="+")
    total = models.PositiveBigIntegerField(default=0)
    done = models.PositiveBigIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["incident", "key"], name="one_rewrap_per_incident_key")]

    def __str__(self) -> str:
        return f"rewrap {self.key_id}: {self.done}/{self.total}"


class IncidentCounter(models.Model):
    """The yearly sequence behind INC-YYYY-NNNN references."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"
