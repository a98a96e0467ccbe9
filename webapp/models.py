"""Models of the web tier: API tokens for machines, the role capabilities, and stack probes."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Capability(models.Model):
    """Holds the project-wide permissions that roles grant; it has no table and no rows.

    Permissions need a content type, and these belong to no single domain model. Roles (Django groups)
    are built from them in ``webapp.roles``.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_incidents", "See incidents and their timelines"),
            ("respond_to_incidents", "Act in incident response (quarantine, compromised keys)"),
            ("command_incidents", "Drive incident playbooks"),
            ("report_signals", "Report compromise signals"),
            ("decide_approvals", "Decide on elevated approvals"),
            ("custody_keys", "Administer keys as their custodian"),
            ("sign_filings", "Sign regulatory filings"),
            ("view_audit", "Read the audit trail"),
            ("export_case_files", "Export and verify case files"),
            ("use_key_gate", "Encrypt and decrypt through the key gate"),
            ("own_control", "Own the key-compromise control: playbook, targets, drills, attestation"),
        ]

    def __str__(self) -> str:
        return "capability"


class ApiToken(models.Model):
    """A bearer token for a machine (service account). Only a SHA-256 digest of the secret is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, help_text="Public part of the token, shown in lists.")
    digest = models.CharField(max_length=64, help_text="SHA-256 of the secret part, hex.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class StackProbe(models.Model):
    """A row written by a Celery task or a Temporal activity to prove a real round trip."""

    class Via(models.TextChoices):
        CELERY = "celery", "Celery worker"
        TEMPORAL = "temporal", "Temporal activity"

    probe_id = models.CharField(max_length=64)
    via = models.CharField(max_length=16, choices=Via.choices)
    worker = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["probe_id", "via"], name="stack_probe_once_per_route")]

    def __str__(self) -> str:
        return f"{self.via}:{self.probe_id}"


class StaffMail(models.Model):
    """An alert mail to Sequester's own people (approvers, the commander): what was to be sent, to whom,
    and what happened. Tried at once, then retried with backoff (``webapp.services.staff_mail``); a
    delivery failure is shown where the person waiting on it looks, and audited."""

    class Status(models.TextChoices):
        SENDING = "sending", "Sending"
        SENT = "sent", "Delivered"
        FAILING = "failing", "Not delivered yet (retrying)"
        FAILED = "failed", "Not delivered (gave up)"

    kind = models.CharField(max_length=40)
    subject_type = models.CharField(max_length=40)
    subject_id = models.CharField(max_length=200)
    incident = models.CharField(max_length=64, blank=True, db_index=True)
    recipients = models.JSONField(default=list)
    delivered_to = models.JSONField(default=list)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["subject_type", "subject_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} mail on {self.subject_type} {self.subject_id}: {self.status}"

    @property
    def undelivered(self) -> list[str]:
        return [address for address in self.recipients if address not in set(self.delivered_to)]
