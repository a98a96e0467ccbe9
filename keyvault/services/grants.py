"""Decrypt grants: who may decrypt with a compromised key, for what, until when, how often."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.actors import Actor
from audit.services import audit_record
from keyvault.errors import InvalidKeyRequest, KeyNotFound
from keyvault.models import DecryptGrant, ManagedKey


def job_principal(job: str) -> str:
    return f"job:{job}"


@transaction.atomic
def decrypt_grant_create(
    *,
    key_id: UUID,
    principal: str,
    purpose: str,
    valid_for: timedelta,
    operation_budget: int,
    actor: Actor,
    incident: str = "",
    approval_reference: str = "",
) -> DecryptGrant:
    if not ManagedKey.objects.filter(id=key_id).exists():
        raise KeyNotFound(f"no key with id {key_id}")
    longest = timedelta(hours=settings.SEQUESTER_DECRYPT_GRANT_MAX_HOURS)
    if not timedelta(0) < valid_for <= longest:
        raise InvalidKeyRequest(f"a decrypt grant lasts more than 0 and at most {longest}")
    if operation_budget < 1 or not principal.strip() or not purpose.strip():
        raise InvalidKeyRequest("a decrypt grant names its principal and purpose and has a budget of at least 1")
    grant = DecryptGrant.objects.create(
        key_id=key_id,
        principal=principal,
        purpose=purpose,
        incident=incident,
        operation_budget=operation_budget,
        expires_at=timezone.now() + valid_for,
        created_by=actor.name,
        approval_reference=approval_reference,
    )
    audit_record(
        action="key.decrypt_grant_created",
        actor=actor,
        subject_type="key",
        subject_id=key_id,
        reason=purpose,
        incident=incident,
        data={
            "grant": grant.pk,
            "principal": principal,
            "operation_budget": operation_budget,
            "expires_at": grant.expires_at.isoformat(),
            "approval": approval_reference,
        },
    )
    return grant


def decrypt_grant_for_job(
    *, job: str, key_ids: list[UUID], incident: str, operation_budget: int, actor: Actor, valid_for: timedelta
) -> list[DecryptGrant]:
    """The grant a playbook rewrap job carries (the confirmation quorum stands behind it)."""
    return [
        decrypt_grant_create(
            key_id=key_id,
            principal=job_principal(job),
            purpose="rewrap",
            valid_for=valid_for,
            operation_budget=operation_budget,
            actor=actor,
            incident=incident,
            approval_reference=incident,
        )
        for key_id in key_ids
    ]


def decrypt_grant_consume(*, key_id: UUID, principal: str, purpose: str, count: int) -> DecryptGrant | None:
    """Take ``count`` operations from a live grant (in the caller's transaction), or return None."""
    now = timezone.now()
    candidates = DecryptGrant.objects.select_for_update().filter(
        key_id=key_id,
        principal=principal,
        revoked_at__isnull=True,
        expires_at__gt=now,
        operations_used__lte=F("operation_budget") - count,
    )
    if purpose:
        candidates = candidates.filter(purpose=purpose)
    grant = candidates.order_by("expires_at").first()
    if grant is not None:
        grant.operations_used += count
        grant.save(update_fields=["operations_used"])
    return grant


@transaction.atomic
def decrypt_grant_revoke(*, grant_id: int, actor: Actor, reason: str) -> DecryptGrant:
    grant = DecryptGrant.objects.select_for_update().get(pk=grant_id)
    if grant.revoked_at is None:
        grant.revoked_at = timezone.now()
        grant.save(update_fields=["revoked_at"])
        audit_record(
            action="key.decrypt_grant_revoked",
            actor=actor,
            subject_type="key",
            subject_id=grant.key_id,
            reason=reason,
            incident=grant.incident,
            data={"grant": grant.pk},
        )
    return grant
