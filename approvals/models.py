"""Policies (versioned), requests with their exact payload, signed decisions, step-up credentials."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApprovalPolicy(models.Model):
    """One version of the policy for an action. Editing creates a new version; requests keep theirs."""

    action = models.SlugField(max_length=64)
    version = models.PositiveIntegerField()
    is_current = models.BooleanField(default=True)
    description = models.CharField(max_length=300, blank=True)
    requirements = models.JSONField(help_text='e.g. [{"roles": ["security_lead"], "count": 1}, …]')
    exclude_requester = models.BooleanField(default=True)
    veto_on_reject = models.BooleanField(default=True)
    expires_after_seconds = models.PositiveIntegerField(default=4 * 3600)
    reminder_after_seconds = models.JSONField(default=list, blank=True, help_text="Offsets from opening")
    escalate_after_seconds = models.PositiveIntegerField(null=True, blank=True)
    escalation_role = models.CharField(max_length=64, blank=True)
    allow_totp = models.BooleanField(default=True, help_text="False: only a WebAuthn authenticator may decide")
    step_up_max_age_seconds = models.PositiveIntegerField(default=300)
    parameters = models.JSONField(default=dict, blank=True, help_text="Action-specific limits")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["action", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["action", "version"], name="one_row_per_policy_version"),
            models.UniqueConstraint(
                fields=["action"], condition=models.Q(is_current=True), name="one_current_policy_per_action"
            ),
        ]
        verbose_name_plural = "approval policies"

    def __str__(self) -> str:
        return f"{self.action} v{self.version}"


class ApprovalRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        EXPIRED = "expired", "Expired"
        CANCELLED = "cancelled", "Cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    policy = models.ForeignKey(ApprovalPolicy, on_delete=models.PROTECT, related_name="requests")
    action = models.SlugField(max_length=64)
    subject_type = models.CharField(max_length=32)
    subject_id = models.CharField(max_length=64)
    incident = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(help_text="Exactly what is approved; its canonical JSON is hashed")
    payload_hash = models.CharField(max_length=64)
    reason = models.TextField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    closed_at = models.DateTimeField(null=True, blank=True)
    workflow_id = models.CharField(max_length=200, blank=True, help_text="The workflow waiting for it")
    idempotency_key = models.CharField(
        max_length=200, null=True, blank=True, unique=True, help_text="A retried opener gets the same request"
    )
    result = models.JSONField(default=dict, blank=True, help_text="What the approval produced (grant, …)")

    class Meta:
        ordering = ["expires_at"]
        indexes = [models.Index(fields=["status", "expires_at"]), models.Index(fields=["subject_type", "subject_id"])]

    def __str__(self) -> str:
        return f"{self.action} on {self.subject_type}:{self.subject_id} ({self.status})"


class DecisionChallenge(models.Model):
    """The document an approver is about to sign, issued once and consumed by one decision."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="challenges")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    document = models.JSONField()
    document_hash = models.CharField(max_length=64)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    consumed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"challenge {self.id} for {self.request_id}"


class Decision(models.Model):
    class Verdict(models.TextChoices):
        APPROVE = "approve", "Approve"
        REJECT = "reject", "Reject"

    class Method(models.TextChoices):
        WEBAUTHN = "webauthn", "WebAuthn"
        TOTP = "totp", "TOTP"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(ApprovalRequest, on_delete=models.PROTECT, related_name="decisions")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=64)
    verdict = models.CharField(max_length=8, choices=Verdict.choices)
    reason = models.TextField(blank=True)
    decided_at = models.DateTimeField()
    document = models.JSONField(help_text="What the approver signed (canonical JSON)")
    document_hash = models.CharField(max_length=64)
    payload_hash = models.CharField(max_length=64, help_text="The request payload's hash, inside the document")
    method = models.CharField(max_length=10, choices=Method.choices)
    evidence = models.JSONField(help_text="WebAuthn assertion (credential, authenticator data, client data, signature)")
    credential = models.ForeignKey(
        "approvals.WebAuthnCredential", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["decided_at"]
        constraints = [models.UniqueConstraint(fields=["request", "approver"], name="one_decision_per_person")]

    def __str__(self) -> str:
        return f"{self.verdict} by {self.approver_id} on {self.request_id}"


class WebAuthnCredential(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webauthn_credentials")
    name = models.CharField(max_length=100)
    credential_id = models.BinaryField(unique=True)
    public_key = models.BinaryField(help_text="COSE public key")
    sign_count = models.PositiveBigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(
        null=True, blank=True, help_text="Revoked by an approved factor recovery: it no longer signs anything"
    )

    def __str__(self) -> str:
        return f"{self.name} ({self.user_id})"


class TotpDevice(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device")
    secret_sealed = models.BinaryField(help_text="The TOTP secret, sealed with a key derived from the master key")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_used_step = models.BigIntegerField(default=0, help_text="A code is accepted once (replay)")

    def __str__(self) -> str:
        return f"TOTP of {self.user_id}"


class RegistrationChallenge(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    challenge = models.BinaryField()
    expires_at = models.DateTimeField()
    consumed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"registration challenge of {self.user_id}"


class FactorChange(models.Model):
    """Permission to add or replace one second factor: issued, proven with an existing factor (or the
    password when the person has none), then consumed by one enrolment."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    challenge = models.BinaryField(help_text="What an existing authenticator signs to prove it is there")
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    proven_at = models.DateTimeField(null=True, blank=True)
    proof = models.CharField(max_length=10, blank=True, help_text="webauthn, totp or password")
    pending_totp_sealed = models.BinaryField(null=True, blank=True, help_text="A new TOTP secret awaiting its code")
    consumed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"factor change {self.id} of {self.user_id}"


class StepUpAttempt(models.Model):
    """One try at a step-up (an assertion, a TOTP code, a password re-entered), counted by the throttle."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    purpose = models.CharField(max_length=32)
    started_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)

    class Meta:
        indexes = [models.Index(fields=["user", "started_at"]), models.Index(fields=["source_ip", "started_at"])]

    def __str__(self) -> str:
        return f"step-up {self.purpose} by {self.user_id}: {self.outcome}"
