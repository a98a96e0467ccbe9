"""How detection is configured — the webhook sources allowed to post signals, their kinds and owners —
changed only through here, each change an audit event, so that the configuration in force at any moment
(an incident's opening, say) can be read back from the audit trail."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from audit.actors import Actor
from audit.models import AuditEvent
from audit.services import audit_record
from incidents.models import WebhookSource
from incidents.webhooks import webhook_secret_seal

CONFIGURED = "detection.source_configured"


def _record(source: WebhookSource, actor: Actor, reason: str) -> None:
    audit_record(
        action=CONFIGURED,
        actor=actor,
        subject_type="webhook_source",
        subject_id=source.name,
        reason=reason,
        data={"name": source.name, "kind": source.kind, "owner": source.owner, "active": source.active},
    )


@transaction.atomic
def webhook_source_configure(*, name: str, kind: str, owner: str, actor: Actor) -> tuple[WebhookSource, str]:
    """Create a source, or rotate its secret and update its kind and owner. Returns the HMAC secret
    (shown once; only its sealed form is stored)."""
    secret = secrets.token_hex(32)
    source, created = WebhookSource.objects.update_or_create(
        name=name,
        defaults={
            "kind": kind,
            "owner": owner,
            "secret_sealed": webhook_secret_seal(name, secret.encode()),
            "active": True,
        },
    )
    _record(source, actor, "webhook source created" if created else "webhook source updated (new secret)")
    return source, secret


@transaction.atomic
def webhook_source_deactivate(*, name: str, actor: Actor, reason: str) -> WebhookSource:
    source = WebhookSource.objects.select_for_update().get(name=name)
    source.active = False
    source.save(update_fields=["active"])
    _record(source, actor, reason or "webhook source deactivated")
    return source


@dataclass(frozen=True, slots=True)
class DetectorRecord:
    name: str
    kind: str
    owner: str
    active: bool
    since: datetime | None  # when this configuration was recorded
    evidence: str  # "audit event #N", or why there is none


def detection_config_at(moment: datetime) -> list[DetectorRecord]:
    """The webhook sources as configured at ``moment``: the last recorded change of each before it. A
    source made before changes were audited shows its current values, and says so."""
    latest: dict[str, AuditEvent] = {}
    for event in AuditEvent.objects.filter(action=CONFIGURED, occurred_at__lte=moment).order_by("seq"):
        latest[event.subject_id] = event
    records = [
        DetectorRecord(
            name=str(e.data.get("name", name)),
            kind=str(e.data.get("kind", "")),
            owner=str(e.data.get("owner", "")),
            active=bool(e.data.get("active", False)),
            since=e.occurred_at,
            evidence=f"audit event #{e.seq}",
        )
        for name, e in latest.items()
    ]
    audited = set(AuditEvent.objects.filter(action=CONFIGURED).values_list("subject_id", flat=True))
    for source in WebhookSource.objects.filter(created_at__lte=moment).exclude(name__in=audited):
        records.append(
            DetectorRecord(
                name=source.name,
                kind=source.kind,
                owner=source.owner,
                active=source.active,
                since=source.created_at,
                evidence="created before changes were audited: its values today, not necessarily then",
            )
        )
    return sorted(records, key=lambda r: r.name)
