"""Development mail (no SMTP relay): printed to the console, but never with a live acknowledgement
token — the console log is read by more people than the recipient. The link keeps its shape, the token
becomes ``[redacted]``; acknowledge through the inbox or a real relay (``SEQUESTER_SMTP_HOST``)."""

from __future__ import annotations

import copy
import re
from typing import Any

from django.core.mail.backends.console import EmailBackend
from django.core.mail.message import EmailMessage

ACK_TOKEN = re.compile(r"(/notifications/ack/#)[^\s\"'<>]+")
REDACTED = r"\1[redacted]"


def ack_tokens_redact(text: str) -> str:
    return ACK_TOKEN.sub(REDACTED, text)


class RedactingConsoleBackend(EmailBackend):
    def write_message(self, message: EmailMessage) -> None:
        shown: Any = copy.copy(message)
        shown.body = ack_tokens_redact(str(message.body))
        alternatives = getattr(message, "alternatives", None)
        if alternatives:
            shown.alternatives = [(ack_tokens_redact(str(content)), kind) for content, kind in alternatives]
        super().write_message(shown)
