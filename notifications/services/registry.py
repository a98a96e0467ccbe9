"""Changes to the party registry go into the audit chain (who may be told what is itself evidence)."""

from __future__ import annotations

from typing import Any

from audit.actors import Actor
from audit.services import audit_record
from notifications.models import Party


def party_snapshot(party: Party) -> dict[str, Any]:
    """What the registry says about a party, without secrets (webhook secrets are sealed elsewhere)."""
    return {
        "name": party.name,
        "kind": party.kind,
        "role": party.role,
        "ack_sla_minutes": party.ack_sla_minutes,
        "reminders": party.reminders,
        "every_incident": party.every_incident,
        "active": party.active,
        "keys": sorted(str(k) for k in party.keys.values_list("id", flat=True)),
        "systems": sorted(party.systems.values_list("name", flat=True)),
        "data_assets": sorted(party.data_assets.values_list("name", flat=True)),
        "contacts": sorted(f"{c.email}{' (escalation)' if c.escalation else ''}" for c in party.contacts.all()),
        "channels": sorted(f"{c.kind}:{c.url}{'' if c.active else ' (inactive)'}" for c in party.channels.all()),
        "members": sorted(party.members.values_list("username", flat=True)),
    }


def party_change_record(*, party: Party, change: str, actor: Actor) -> None:
    """``change``: created, changed or deleted; the event carries the registry entry as it now stands."""
    audit_record(
        action=f"notification.party_{change}",
        actor=actor,
        subject_type="party",
        subject_id=party.name[:64],
        reason=f"party {party.name} ({party.get_role_display()}) {change}",
        data=party_snapshot(party) if change != "deleted" else {"name": party.name, "role": party.role},
    )
