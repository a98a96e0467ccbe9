"""Who may use the key gate for what, and who may know of a quarantined key: the one table (pure, no Django).

Three questions, each answered here and only here:

- ``may_call(caller, operation)``: may this caller call the operation at all (whatever the key)? The
  API permission asks it before parsing a request; the gate service asks it again, for callers that
  do not come through the API (jobs, the playbook, tests).
- ``use_verdict(caller, operation, state)``: for an encrypt, decrypt or rewrap of a key in ``state``,
  allowed outright, allowed with every use logged, allowed only with a full context (justification,
  incident, affected system), only with an approved grant or exception, or refused — and how.
- ``hidden(caller, state)``: segregation. A suspended or compromised key does not exist (404
  ``key_not_found``) for a caller outside incident response, in every call that names it by id:
  read, encrypt, data key, rewrap, rotate, wrapped items, use as a parent, approval requests. The one
  exception is the one CEK-19 makes: an application decrypting its own ciphertext under a *suspended*
  key keeps doing so (each use logged). That decrypt answers exactly as for an active key, so it
  reveals nothing; the key id it needs is in the ciphertext the caller already holds.

``Caller`` is what a principal holds (capabilities), built from Django permissions by
``keyvault.types.Principal.caller``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from keyvault.states import DESTROYED_STATES, QUARANTINED, KeyState

S = KeyState


@dataclass(frozen=True, slots=True)
class Caller:
    """The capabilities of whoever calls: each is a role capability, ``job`` a rewrap job of Sequester's."""

    gate: bool = False  # use_key_gate: applications (service accounts), key custodians
    responder: bool = False  # respond_to_incidents: incident-response roles
    custody: bool = False  # custody_keys: key custodians
    audit: bool = False  # view_audit: auditors, security leads, CISOs
    job: bool = False  # a playbook rewrap job, carrying its own approved grant

    @property
    def incident_response(self) -> bool:
        return self.responder or self.job


SYSTEM = Caller(gate=True, responder=True, custody=True, audit=True)  # Sequester's own services


class Operation(StrEnum):
    READ = "read"  # the inventory, one key
    LIST_QUARANTINE = "list_quarantine"
    CREATE = "create"
    SUSPEND = "suspend"
    COMPROMISE = "compromise"
    ACTIVATE = "activate"
    DEACTIVATE = "deactivate"
    ROTATE = "rotate"
    REGISTER_ITEMS = "register_items"  # wrapped items, for rewrapping on compromise
    ENCRYPT = "encrypt"  # encrypt, data keys, alias encrypt
    DECRYPT = "decrypt"
    REWRAP = "rewrap"


Op = Operation
# Who may call each operation at all: any one of the capabilities named.
_CALLERS: dict[Operation, frozenset[str]] = {
    Op.READ: frozenset({"gate", "custody", "responder", "audit"}),
    Op.LIST_QUARANTINE: frozenset({"responder"}),
    Op.CREATE: frozenset({"custody", "gate"}),
    Op.SUSPEND: frozenset({"responder"}),
    Op.COMPROMISE: frozenset({"responder"}),
    Op.ACTIVATE: frozenset({"custody"}),
    Op.DEACTIVATE: frozenset({"custody"}),
    Op.ROTATE: frozenset({"custody"}),
    Op.REGISTER_ITEMS: frozenset({"gate"}),
    Op.ENCRYPT: frozenset({"gate", "job"}),
    Op.DECRYPT: frozenset({"gate", "responder", "job"}),
    Op.REWRAP: frozenset({"gate", "responder", "job"}),
}


def may_call(caller: Caller, operation: Operation) -> bool:
    return any(getattr(caller, capability) for capability in _CALLERS[operation])


def hidden(caller: Caller, state: KeyState) -> bool:
    """Segregation: a quarantined key does not exist for callers outside incident response."""
    return state in QUARANTINED and not caller.incident_response


class Verdict(StrEnum):
    ALLOW = "allow"
    LOGGED = "logged"  # allowed, every use recorded in the audit trail
    CONTEXT = "context"  # logged, and only with justification, incident and affected system
    GRANT = "grant"  # CONTEXT, and only under a live, approved decrypt grant (budgeted)
    EXCEPTION = "exception"  # only under a live, approved encryption exception (budgeted, logged)
    NOT_FOUND = "not_found"  # segregation: 404 key_not_found
    DESTROYED = "destroyed"  # 410: the material no longer exists
    NOT_USABLE = "not_usable"  # 409: the state forbids it (the caller may know the state)
    DENIED = "denied"  # 403: not this caller's to do


def use_verdict(caller: Caller, operation: Operation, state: KeyState) -> Verdict:
    """What an ``operation`` (ENCRYPT, DECRYPT, or REWRAP's encrypting side) on a key in ``state``
    needs from ``caller``. REWRAP's decrypting side is a DECRYPT of the source key."""
    if not may_call(caller, operation):
        return Verdict.DENIED
    if state in DESTROYED_STATES:
        return Verdict.DESTROYED
    if operation is Op.DECRYPT:
        return _decrypt(caller, state)
    return _encrypt(caller, state, rewrap=operation is Op.REWRAP)


def _encrypt(caller: Caller, state: KeyState, *, rewrap: bool) -> Verdict:
    if state is S.ACTIVE:
        return Verdict.ALLOW
    if state is S.COMPROMISED and not rewrap:
        return Verdict.EXCEPTION  # refused as NOT_FOUND or NOT_USABLE (see refusal) when none matches
    return Verdict.NOT_FOUND if hidden(caller, state) else Verdict.NOT_USABLE


def _decrypt(caller: Caller, state: KeyState) -> Verdict:
    if state is S.PRE_ACTIVE:
        return Verdict.NOT_USABLE  # it never encrypted anything
    if state in (S.ACTIVE, S.DEACTIVATED):
        return Verdict.ALLOW if caller.gate or caller.job else Verdict.DENIED
    if state is S.SUSPENDED:
        # An incident responder reading a suspended key's data states why (suspending a key is no way
        # around that); an application keeps decrypting its own ciphertext, each use logged.
        return Verdict.CONTEXT if caller.responder and not caller.job else Verdict.LOGGED
    # compromised
    return Verdict.GRANT if caller.incident_response else Verdict.NOT_FOUND


def refusal(caller: Caller, state: KeyState) -> Verdict:
    """How to refuse when a grant or an exception the verdict asked for is missing."""
    return Verdict.NOT_FOUND if hidden(caller, state) else Verdict.NOT_USABLE


def manage_verdict(caller: Caller, state: KeyState) -> Verdict:
    """Rotate, register wrapped items under, or wrap a new key with, a key in ``state``: never a
    quarantined one (409 ``key_quarantined`` for incident responders, 404 for everyone else)."""
    if hidden(caller, state):
        return Verdict.NOT_FOUND
    if state in QUARANTINED:
        return Verdict.NOT_USABLE
    if state in DESTROYED_STATES:
        return Verdict.DESTROYED
    return Verdict.ALLOW
