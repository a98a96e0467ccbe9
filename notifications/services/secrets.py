"""A webhook channel's Standard Webhooks secret: made here, shown once, kept sealed like other secrets."""

from __future__ import annotations

from django.db import transaction

from audit.actors import Actor
from audit.services import audit_record
from notifications import standard_webhooks
from notifications.models import Channel
from webapp.sealing import seal, unseal

SEAL_PURPOSE = "party-webhook"


def _context(channel: Channel) -> bytes:
    return f"channel:{channel.pk}".encode()


def channel_secret(channel: Channel) -> str:
    if not channel.secret_sealed:
        raise ValueError(f"webhook channel {channel.pk} has no secret yet: rotate one")
    return unseal(SEAL_PURPOSE, bytes(channel.secret_sealed), context=_context(channel)).decode()


@transaction.atomic
def channel_secret_rotate(*, channel_id: int, actor: Actor) -> str:
    """A new ``whsec_`` secret for the channel; returned once (give it to the party), stored sealed."""
    channel = Channel.objects.select_for_update().select_related("party").get(pk=channel_id)
    if channel.kind != Channel.Kind.WEBHOOK:
        raise ValueError("only a webhook channel has a signing secret")
    secret = standard_webhooks.secret_generate()
    channel.secret_sealed = seal(SEAL_PURPOSE, secret.encode(), context=_context(channel))
    channel.save(update_fields=["secret_sealed"])
    audit_record(
        action="notification.webhook_secret_rotated",
        actor=actor,
        subject_type="party",
        subject_id=channel.party.name,
        reason="new webhook signing secret",
        data={"channel": channel.pk, "url": channel.url},
    )
    return secret
