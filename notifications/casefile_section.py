"""The case file's notifications section: who was told, when, how, and whether they acknowledged."""

from __future__ import annotations

from casefile.gather import Section
from incidents.models import Incident
from notifications.audiences import message_label
from notifications.selectors import notifications_of


def _when(moment: object) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "—"


def notifications_section(incident: Incident) -> Section | None:
    notifications = list(notifications_of(incident))
    if not notifications:
        return None
    rows, evidence = [], []
    for n in notifications:
        sent = [d for d in n.deliveries.all() if d.status == "sent"]
        channels = sorted({d.channel.kind for d in sent})
        ack = f"{_when(n.acked_at)} by {n.acked_by}" if n.acked_at else ("escalated" if n.escalated_at else "none")
        bodies = "; ".join(f"{d.channel.kind} {d.purpose}: {d.body_sha256[:16]}" for d in sent if d.body_sha256)
        rows.append(
            [
                n.party.name,
                n.party.get_role_display(),
                message_label(n.message),
                n.get_status_display(),
                _when(n.sent_at),
                ", ".join(channels) or "—",
                str(n.reminders_sent),
                ack,
                bodies or "—",
            ]
        )
        evidence.append(
            {
                "notification": n.idempotency_key,
                "message": n.message,
                "party": n.party.name,
                "role": n.party.role,
                "audience": n.audience,
                "approved_by": n.approved_by,
                "approved_at": n.approved_at.isoformat() if n.approved_at else None,
                "sent_at": n.sent_at.isoformat() if n.sent_at else None,
                "ack_due_at": n.ack_due_at.isoformat() if n.ack_due_at else None,
                "acked_at": n.acked_at.isoformat() if n.acked_at else None,
                "acked_by": n.acked_by,
                "reminders": n.reminders_sent,
                "escalated_at": n.escalated_at.isoformat() if n.escalated_at else None,
                "deliveries": [
                    {
                        "channel": d.channel.kind,
                        "purpose": d.purpose,
                        "sequence": d.sequence,
                        "status": d.status,
                        "message_id": d.message_id,
                        "sent_at": d.sent_at.isoformat() if d.sent_at else None,
                        "recipients": d.recipients,
                        "body": d.body,
                        "body_sha256": d.body_sha256,
                    }
                    for d in n.deliveries.all()
                ],
            }
        )
    acked = sum(1 for n in notifications if n.acked_at)
    parties = len({n.party_id for n in notifications})
    return Section(
        title="Notifications and acknowledgements",
        columns=["Party", "Role", "Message", "Status", "Sent", "Channels", "Reminders", "Acknowledged", "Body SHA-256"],
        rows=rows,
        evidence=evidence,
        note=(
            f"{len(notifications)} message(s) to {parties} part(ies) per the shared-responsibility model "
            f"(first notices and follow-ups); {acked} acknowledged. The full text of every message as sent (its "
            "acknowledgement token replaced by the token's SHA-256) is in the attached audit-bundle.json (event "
            "data.body, with data.body_sha256) and evidence.json; the SHA-256 above is of that text."
        ),
    )
