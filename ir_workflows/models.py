"""The outbox: what must reach Temporal (a workflow start, a child start, an update) survives Temporal being
down."""

from __future__ import annotations

from django.db import models


class TemporalOutbox(models.Model):
    class Kind(models.TextChoices):
        START = "start", "Start a workflow"
        UPDATE = "update", "Send an update"
        CHILD = "child", "Start a child of a running workflow (standalone when it is not running)"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    idempotency_key = models.CharField(max_length=200, unique=True, help_text="Workflow id or update id")
    workflow_id = models.CharField(max_length=200)
    parent_workflow_id = models.CharField(max_length=200, blank=True, help_text="A child's parent workflow")
    workflow_type = models.CharField(max_length=100, blank=True)
    update_name = models.CharField(max_length=100, blank=True)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    gave_up_at = models.DateTimeField(null=True, blank=True, help_text="Permanent failure (e.g. workflow gone)")
    result = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["delivered_at", "gave_up_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.idempotency_key}"
