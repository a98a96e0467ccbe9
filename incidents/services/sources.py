"""Who owns which CloudEvents ``source``: the one rule behind "a sender may not sign for another".

A claim gives one sender a source and everything below it (``https://scanner.example`` covers
``https://scanner.example/prod``); claims never overlap across senders, and none may take a namespace
that senders own by construction (``incidents.senders.RESERVED_PREFIXES``).
"""

from __future__ import annotations

import structlog
from django.db import transaction

from audit.actors import Actor
from audit.services import audit_record
from incidents.errors import SourceClaimConflict, SourceNotOwned
from incidents.models import SignalSourceClaim
from incidents.senders import RESERVED_PREFIXES, Sender, prefix_covers

log = structlog.get_logger(__name__)


def source_owner_check(*, sender: Sender, source: str) -> None:
    """Raise ``SourceNotOwned`` unless ``sender`` owns ``source`` (by construction or by a claim)."""
    if sender.owns_by_construction(source):
        return
    owners = {claim.owner for claim in SignalSourceClaim.objects.all() if prefix_covers(claim.prefix, source)}
    if sender.id in owners:
        return
    log.warning("signal.source_not_owned", sender=sender.id, source=source[:300])
    raise SourceNotOwned(
        f"{sender.id} may not send signals for source {source!r}: a source is claimed for its sender first "
        "(manage.py claim_signal_source), or use one under your own namespace",
        namespace=sender.namespaces[0] if sender.namespaces else "",
    )


@transaction.atomic
def source_claim(*, prefix: str, owner: Sender, actor: Actor) -> SignalSourceClaim:
    """Give ``owner`` the source ``prefix`` (and below it). Idempotent for the same owner."""
    prefix = prefix.strip()
    if not prefix or len(prefix) > 300:
        raise SourceClaimConflict("a claimed source is 1 to 300 characters")
    if any(prefix.startswith(reserved) for reserved in RESERVED_PREFIXES):
        raise SourceClaimConflict(f"{prefix!r} is in a namespace senders own by construction")
    for claim in SignalSourceClaim.objects.select_for_update():
        overlaps = prefix_covers(claim.prefix, prefix) or prefix_covers(prefix, claim.prefix)
        if overlaps and claim.owner != owner.id:
            raise SourceClaimConflict(f"{prefix!r} overlaps {claim.prefix!r}, claimed by {claim.owner}")
    claim, created = SignalSourceClaim.objects.get_or_create(prefix=prefix, defaults={"owner": owner.id})
    if created:
        audit_record(
            action="signal.source_claimed",
            actor=actor,
            subject_type="signal_source",
            subject_id=prefix,
            reason=f"{prefix} claimed for {owner.id}",
            data={"prefix": prefix, "owner": owner.id},
        )
    return claim
