"""Who did it: the actor of an audit event, as recorded (a name, never a live user object)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Actor:
    name: str
    type: str  # AuditEvent.ActorType value: user, service or system
    source_ip: str | None = None
    user_agent: str = ""

    @classmethod
    def system(cls, component: str) -> Actor:
        return cls(name=f"sequester:{component}", type="system")

    @classmethod
    def for_user(cls, user: Any, *, source_ip: str | None = None, user_agent: str = "") -> Actor:
        is_service = not user.has_usable_password() and user.groups.filter(name="service_account").exists()
        return cls(
            name=user.get_username(),
            type="service" if is_service else "user",
            source_ip=source_ip,
            user_agent=user_agent[:300],
        )
