"""Parties to tell about a key compromise, their channels, the messages sent to them and their acks."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from notifications.outbound import outbound_url_validator


class PartyRole(models.TextChoices):
    """The party's place in the shared-responsibility model (CSA AICM / CCM CEK-19)."""

    CLOUD_SERVICE_PROVIDER = "csp", "Cloud service provider"
    MODEL_PROVIDER = "model_provider", "Model provider"
    ORCHESTRATED_SERVICE_PROVIDER = "osp", "Orchestrated service provider"
    APPLICATION_PROVIDER = "application_provider", "Application provider"
    AI_CUSTOMER = "ai_customer", "AI customer"
    HSM_VENDOR = "hsm_vendor", "HSM vendor"
    CRYPTO_LIBRARY_MAINTAINER = "crypto_library", "Cryptographic library maintainer"
    REGULATOR = "regulator", "Regulator"
    INTERNAL_TEAM = "internal_team", "Internal team"


class Party(models.Model):
    """An organisation or team told about key status changes of the keys, systems or data it relates to."""

    class Kind(models.TextChoices):
        ORGANISATION = "organisation", "Organisation"
        TEAM = "team", "Team (internal)"

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.ORGANISATION)
    role = models.CharField(max_length=24, choices=PartyRole.choices)
    ack_sla_minutes = models.PositiveIntegerField(
        default=240, help_text="An acknowledgement is expected within this time; then a reminder, then escalation"
    )
    reminders = models.PositiveSmallIntegerField(default=1, help_text="Reminders before escalating")
    keys = models.ManyToManyField("keyvault.ManagedKey", blank=True, related_name="parties")
    systems = models.ManyToManyField("keyvault.System", blank=True, related_name="parties")
    data_assets = models.ManyToManyField("keyvault.DataAsset", blank=True, related_name="parties")
    every_incident = models.BooleanField(default=False, help_text="Told of every incident, whatever it touches")
    exercise_recipient = models.BooleanField(
        default=False, help_text="Takes part in drills: the only parties an exercise notifies"
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="notification_parties", help_text="Inbox readers"
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "parties"

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"


class Contact(models.Model):
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    email = models.EmailField()
    phone = models.CharField(max_length=50, blank=True)
    escalation = models.BooleanField(default=False, help_text="Receives the escalation instead of the messages")

    class Meta:
        ordering = ["party", "name"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class Channel(models.Model):
    """How a party is reached. Email goes to the party's (non-escalation) contacts; a webhook to ``url``,
    signed per the Standard Webhooks spec with the party's own secret (sealed at rest)."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email (SMTP)"
        WEBHOOK = "webhook", "Signed webhook"
        INBOX = "inbox", "Sequester inbox (internal)"

    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    url = models.URLField(blank=True, max_length=500, validators=[outbound_url_validator])
    secret_sealed = models.BinaryField(blank=True, default=b"", editable=False)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["party", "kind", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(kind="webhook") | ~Q(url=""), name="webhook_channel_has_url"),
        ]

    def __str__(self) -> str:
        return f"{self.party.name}: {self.get_kind_display()}"


class Notification(models.Model):
    """One message to one party about one incident: drafted from the audience's template, previewed,
    approved (the incident's first send, by the commander), sent on each channel, acknowledged."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft (awaiting approval)"
        APPROVED = "approved", "Approved"
        SENT = "sent", "Sent"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        ESCALATED = "escalated", "Escalated"
        CANCELLED = "cancelled", "Cancelled"

    incident = models.ForeignKey("incidents.Incident", on_delete=models.PROTECT, related_name="notifications")
    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="notifications")
    message = models.CharField(max_length=32, default="key_status", help_text="Which message of the incident")
    idempotency_key = models.CharField(max_length=120, unique=True, help_text="incident:party:message")
    audience = models.CharField(max_length=16)
    subject = models.CharField(max_length=300)
    body = models.TextField(help_text="Rendered text; {ack_url} is filled in per send")
    facts = models.JSONField(default=dict, help_text="What the webhook carries: fingerprints, states, never secrets")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.CharField(max_length=150, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    ack_due_at = models.DateTimeField(null=True, blank=True)
    acked_at = models.DateTimeField(null=True, blank=True)
    acked_by = models.CharField(max_length=200, blank=True)
    acked_from = models.GenericIPAddressField(null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)
    workflow_id = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["incident", "party__name"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "party", "message"], name="one_notification_per_message"),
        ]

    def __str__(self) -> str:
        return f"{self.idempotency_key} ({self.status})"


class Delivery(models.Model):
    """One send of a notification on one channel for one purpose: its key makes a retried send a no-op."""

    class Purpose(models.TextChoices):
        INITIAL = "initial", "Initial"
        REMINDER = "reminder", "Reminder"
        ESCALATION = "escalation", "Escalation"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="deliveries")
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    sequence = models.PositiveSmallIntegerField(default=1, help_text="Which reminder")
    idempotency_key = models.CharField(max_length=160, unique=True)
    message_id = models.CharField(max_length=64, unique=True, help_text="webhook-id / Message-ID")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="When a sender took it (stale claims expire)")
    recipients = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    body = models.TextField(
        blank=True, help_text="As sent (the ack token replaced by its hash): what the party was told"
    )
    body_sha256 = models.CharField(max_length=64, blank=True, help_text="SHA-256 of ``body`` (also on the audit trail)")

    class Meta:
        ordering = ["notification", "created_at"]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.idempotency_key} ({self.status})"


class AckToken(models.Model):
    """A single-use, expiring acknowledgement link: only the SHA-256 of the token is stored."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="ack_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"ack token of {self.notification_id}"
