"""Who calls the gate and why: the principal and the context of a use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from audit.actors import Actor
from keyvault.policy import Caller

# The role capabilities (webapp permissions) a policy.Caller is made of.
CAPABILITY_PERMISSIONS = {
    "gate": "webapp.use_key_gate",
    "responder": "webapp.respond_to_incidents",
    "custody": "webapp.custody_keys",
    "audit": "webapp.view_audit",
}


def caller_for_user(user: Any, *, job: bool = False) -> Caller:
    """The policy's view of a Django user (Django caches a user's permissions: no query after the first)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Caller(job=job)
    return Caller(job=job, **{name: bool(user.has_perm(perm)) for name, perm in CAPABILITY_PERMISSIONS.items()})


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of a gate operation.

    ``user`` is the Django user (None for Sequester's own jobs); ``rewrap_job`` names the playbook job
    when the call is a rewrap run by Sequester itself, which carries its own authority.
    """

    actor: Actor
    user: Any = None
    rewrap_job: str = ""

    def has_perm(self, perm: str) -> bool:
        return self.user is not None and bool(self.user.has_perm(perm))

    @property
    def caller(self) -> Caller:
        return caller_for_user(self.user, job=bool(self.rewrap_job))

    @classmethod
    def for_user(cls, user: Any, *, source_ip: str | None = None, user_agent: str = "") -> Principal:
        return cls(actor=Actor.for_user(user, source_ip=source_ip, user_agent=user_agent), user=user)

    @classmethod
    def for_rewrap_job(cls, job: str) -> Principal:
        return cls(actor=Actor.system("rewrap"), rewrap_job=job)


@dataclass(frozen=True, slots=True)
class UseContext:
    """Why a key is used: required for compromised keys, recorded for every logged use."""

    justification: str = ""
    incident: str = ""
    affected_system: str = ""
    purpose: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return bool(self.justification.strip() and self.incident.strip() and self.affected_system.strip())
