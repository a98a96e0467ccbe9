"""Who sent a signal, as authenticated: a webhook source (its HMAC) or a principal (its token or
session). Deduplication is per sender, and a sender may only name CloudEvents ``source`` values it owns.

Ownership: every sender owns its own namespace (``webhook:<name>``, ``principal:<username>``; a person
also ``ui:<username>``, the source of the report form), GitHub and AWS webhook sources own the sources
built from their payloads (``github:…``, ``aws:…``), and any other source (``https://scanner.example``,
``siem/prod``) must be claimed for the sender first (``incidents.services.sources``). The server itself
(a system actor: tests, the demo, management commands) owns every source.
"""

from __future__ import annotations

from dataclasses import dataclass

from audit.actors import Actor

# Namespaces no claim may take: they belong to senders by construction.
RESERVED_PREFIXES = ("webhook:", "principal:", "ui:", "github:", "aws:", "system:")


def prefix_covers(prefix: str, source: str) -> bool:
    """``prefix`` owns ``source``: the same, or below it (after a ``/``, or directly after a prefix that
    ends with ``/`` or ``:``)."""
    if not prefix:
        return False
    if source == prefix:
        return True
    return source.startswith(prefix if prefix[-1] in "/:" else prefix + "/")


@dataclass(frozen=True, slots=True)
class Sender:
    id: str
    namespaces: tuple[str, ...]
    owns_everything: bool = False

    @classmethod
    def webhook(cls, name: str, kind: str) -> Sender:
        own = f"webhook:{name}"
        extra = {"github": ("github:",), "aws": ("aws:",)}.get(kind, ())
        return cls(id=own, namespaces=(own, *extra))

    @classmethod
    def principal(cls, username: str) -> Sender:
        return cls(id=f"principal:{username}", namespaces=(f"principal:{username}", f"ui:{username}"))

    @classmethod
    def of_actor(cls, actor: Actor) -> Sender:
        if actor.type == "system":
            return cls(id=f"system:{actor.name}", namespaces=(), owns_everything=True)
        return cls.principal(actor.name)

    def owns_by_construction(self, source: str) -> bool:
        return self.owns_everything or any(prefix_covers(ns, source) for ns in self.namespaces)
