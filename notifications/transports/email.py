"""Email through Django's mail backend (SMTP in production and in tests)."""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage

from notifications.models import Channel
from notifications.transports.base import Outgoing, TransportError


class EmailTransport:
    def send(self, channel: Channel, outgoing: Outgoing) -> list[str]:
        if not outgoing.recipients:
            raise TransportError(f"{channel.party.name} has no email contact", permanent=True)
        message = EmailMessage(
            subject=outgoing.subject,
            body=outgoing.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=outgoing.recipients,
            headers={"Message-ID": f"<{outgoing.message_id}@sequester>", "X-Sequester-Message": outgoing.message_id},
        )
        try:
            message.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise TransportError(f"recipients refused: {sorted(exc.recipients)}", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}", permanent=False) from exc
        return list(outgoing.recipients)
