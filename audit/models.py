"""The audit event: append-only (no update, no delete), each one chained to the one before."""

from __future__ import annotations

from typing import Any, NoReturn

from django.db import models


class AppendOnlyError(RuntimeError):
    pass


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit events cannot be updated")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("audit events cannot be deleted")

    def for_subject(self, subject_type: str, subject_id: object) -> AuditEventQuerySet:
        return self.filter(subject_type=subject_type, subject_id=str(subject_id))


class AuditEvent(models.Model):
    class ActorType(models.TextChoices):
        USER = "user", "Person"
        SERVICE = "service", "Service account"
        SYSTEM = "system", "Sequester itself"

    seq = models.BigIntegerField(unique=True)
    occurred_at = models.DateTimeField()
    actor = models.CharField(max_length=150)
    actor_type = models.CharField(max_length=10, choices=ActorType.choices)
    action = models.CharField(max_length=64)
    subject_type = models.CharField(max_length=32)
    subject_id = models.CharField(max_length=64)
    reason = models.TextField(blank=True)
    incident = models.CharField(max_length=64, blank=True)
    affected_system = models.CharField(max_length=200, blank=True)
    source_ip = models.CharField(max_length=45, null=True, blank=True)  # as given: hashed verbatim
    user_agent = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["subject_type", "subject_id"]),
            models.Index(fields=["incident"]),
            # an incident's timeline, newest first, a page at a time (however long the chain)
            models.Index(fields=["incident", "-seq"], name="audit_incident_seq_idx"),
            models.Index(fields=["action"]),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.subject_type}:{self.subject_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit events cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit events cannot be deleted")


class AuditCheckpointQuerySet(models.QuerySet["AuditCheckpoint"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit checkpoints cannot be updated")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("audit checkpoints cannot be deleted")


class AuditCheckpoint(models.Model):
    """The chain's head at a moment, signed (Ed25519): nothing before it can change unnoticed."""

    seq = models.BigIntegerField(unique=True)  # the head event's sequence number
    head_hash = models.CharField(max_length=64)
    count = models.BigIntegerField()
    created_at = models.DateTimeField()
    key_id = models.CharField(max_length=16)
    public_key = models.CharField(max_length=64)  # base64 of the raw key: old checkpoints outlive rotation
    signature = models.CharField(max_length=100)  # base64 Ed25519 signature of the statement

    objects = AuditCheckpointQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"checkpoint at #{self.seq}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit checkpoints cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit checkpoints cannot be deleted")
