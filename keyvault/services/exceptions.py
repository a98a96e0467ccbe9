"""Encryption exceptions: the one way a compromised key may encrypt again, scoped, budgeted, time-boxed.

Approvals put a quorum in front of ``encryption_exception_create``; this module holds the rules that
do not depend on who approved it.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.actors import Actor
from audit.services import audit_record
from keyvault.errors import IllegalTransition, InvalidKeyRequest, KeyNotFound
from keyvault.models import EncryptionException, ManagedKey
from keyvault.states import KeyState


@transaction.atomic
def encryption_exception_create(
    *,
    key_id: UUID,
    principal: str,
    purpose: str,
    reason: str,
    valid_for: timedelta,
    operation_budget: int,
    actor: Actor,
    incident: str = "",
    approval_reference: str = "",
) -> EncryptionException:
    key = ManagedKey.objects.select_for_update().filter(id=key_id).first()
    if key is None:
        raise KeyNotFound(f"no key with id {key_id}")
    if key.key_state is not KeyState.COMPROMISED:
        raise IllegalTransition(f"encryption exceptions exist only for compromised keys; this one is {key.state}")
    longest = timedelta(hours=settings.SEQUESTER_ENCRYPTION_EXCEPTION_MAX_HOURS)
    if not timedelta(0) < valid_for <= longest:
        raise InvalidKeyRequest(
            f"an exception lasts more than 0 and at most {longest}", max_hours=longest.total_seconds() / 3600
        )
    if operation_budget < 1:
        raise InvalidKeyRequest("an exception needs an operation budget of at least 1")
    if not (principal.strip() and purpose.strip() and reason.strip()):
        raise InvalidKeyRequest("an exception names its caller, its purpose and a reason")
    exception = EncryptionException.objects.create(
        key=key,
        principal=principal,
        purpose=purpose,
        reason=reason,
        incident=incident,
        operation_budget=operation_budget,
        expires_at=timezone.now() + valid_for,
        created_by=actor.name,
        approval_reference=approval_reference,
    )
    audit_record(
        action="key.encryption_exception_granted",
        actor=actor,
        subject_type="key",
        subject_id=key.id,
        reason=reason,
        incident=incident,
        data={
            "exception": exception.pk,
            "principal": principal,
            "purpose": purpose,
            "operation_budget": operation_budget,
            "expires_at": exception.expires_at.isoformat(),
            "approval": approval_reference,
        },
    )
    return exception


@transaction.atomic
def encryption_exception_revoke(*, exception_id: int, actor: Actor, reason: str) -> EncryptionException:
    exception = EncryptionException.objects.select_for_update().get(pk=exception_id)
    if exception.revoked_at is None:
        exception.revoked_at = timezone.now()
        exception.save(update_fields=["revoked_at"])
        audit_record(
            action="key.encryption_exception_revoked",
            actor=actor,
            subject_type="key",
            subject_id=exception.key_id,
            reason=reason,
            incident=exception.incident,
            data={"exception": exception.pk},
        )
    return exception
