"""The gate: every encrypt, decrypt, rewrap and data-key request passes here, and only here.

Who may do what with a key in which state is ``keyvault.policy`` (one pure table, which the API
permission asks too); this module applies its verdicts. The state check is strongly consistent: each
call reads the key's state under a share lock (PostgreSQL ``FOR SHARE``) in the transaction that
performs the operation, so a suspension that has committed is never outrun, and one that is committing
waits for operations already under way. Speed comes from batches: one state check per key per call,
however many items it carries.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import wraps
from operator import itemgetter
from typing import ParamSpec, TypeVar
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from audit.services import audit_record
from keyvault import ciphertext as ct
from keyvault.backends import backend_for
from keyvault.backends.base import AeadBatch, KeyBackend, VersionRef
from keyvault.errors import (
    AliasHasNoUsableKey,
    BatchTooLarge,
    CiphertextKeyMismatch,
    DecryptContextRequired,
    DecryptGrantRequired,
    GateAccessDenied,
    KeyDestroyed,
    KeyNotFound,
    KeyNotUsableForDecryption,
    KeyNotUsableForEncryption,
    MalformedCiphertext,
    PayloadTooLarge,
)
from keyvault.models import EncryptionException, KeyVersion, ManagedKey
from keyvault.policy import Caller, Operation, Verdict, may_call, refusal, use_verdict
from keyvault.refusals import ANY_KEY, Refusal, ledger
from keyvault.services.grants import decrypt_grant_consume, job_principal
from keyvault.services.versions import backend_errors, key_backend
from keyvault.states import QUARANTINED, KeyState
from keyvault.types import Principal, UseContext
from keyvault.usage import tally
from webapp.errors import DomainError

S = KeyState
Op = Operation
DATA_KEY_BYTES = 32
# Per-use audit events above this many items per call would flood the trail: bulk jobs get one
# event carrying the count and a digest of the ciphertexts instead.
_DIGEST_LIST_LIMIT = 50


@dataclass(frozen=True, slots=True)
class EncryptItem:
    plaintext: bytes
    aad: bytes = b""


@dataclass(frozen=True, slots=True)
class DecryptItem:
    ciphertext: bytes
    aad: bytes = b""


@dataclass(frozen=True, slots=True)
class DataKey:
    plaintext: bytes
    wrapped: bytes


@dataclass(slots=True)
class _KeySnapshot:
    key: ManagedKey
    state: KeyState
    refs: dict[int, VersionRef] = field(default_factory=dict)


# --- reading a key for a use -------------------------------------------------------------------
_PG_SNAPSHOT = """
SELECT id, alias, state, backend, current_version, replaced_by_id, material_generation,
       set_config('synchronous_commit', 'off', true)
FROM keyvault_managedkey WHERE id = ANY(%(ids)s) ORDER BY id {lock}
"""
_SNAPSHOT_FIELDS = ("id", "alias", "state", "backend", "current_version", "replaced_by_id", "material_generation")


class _MaterialCache:
    """Stored key material by (key, version, generation): a change of material bumps the generation,
    so a stale entry is never used. The state is never cached; only the (immutable) bytes are."""

    def __init__(self, size: int = 10_000) -> None:
        self._entries: OrderedDict[tuple[UUID, int, int], bytes] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: tuple[UUID, int, int]) -> bytes | None:
        with self._lock:
            return self._entries.get(key)

    def put(self, key: tuple[UUID, int, int], material: bytes) -> None:
        with self._lock:
            self._entries[key] = material
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)


_material = _MaterialCache()


def _snapshot(
    key_ids: Sequence[UUID], versions: dict[UUID, set[int]] | None = None, *, lock: bool = True
) -> dict[UUID, _KeySnapshot]:
    """Share-lock the keys (in id order, as every writer locks) and read their state and key material
    (the current version, plus the ``versions`` a decrypt names), in one statement on PostgreSQL.

    The share lock lasts until the operation's commit: a suspension waits for uses under way, and any
    use that locks after it commits sees the new state. The commit is made asynchronous (a plain use of
    an active key writes nothing but this lock); ``_durable()`` restores it before audit evidence.

    ``lock=False`` (decryption, outside a transaction) reads the last committed state: the use is
    ordered before any change that has not committed yet, and after any that has."""
    ids = sorted(set(key_ids))
    wanted = versions or {}
    found: dict[UUID, _KeySnapshot] = {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_PG_SNAPSHOT.format(lock="FOR SHARE" if lock else ""), {"ids": ids})
            rows = cursor.fetchall()
        keys = [ManagedKey(**dict(zip(_SNAPSHOT_FIELDS, row[:-1], strict=True))) for row in rows]
    else:  # SQLite transactions are IMMEDIATE: one writer at a time already
        keys = list(ManagedKey.objects.filter(id__in=ids).only(*_SNAPSHOT_FIELDS).order_by("id"))
    misses: list[tuple[UUID, int, int]] = []
    for key in keys:
        snapshot = found[key.id] = _KeySnapshot(key=key, state=key.key_state)
        for number in wanted.get(key.id) or {key.current_version}:
            cache_key = (key.id, number, key.material_generation)
            material = _material.get(cache_key)
            if material is None:
                misses.append(cache_key)
            elif material:
                snapshot.refs[number] = VersionRef(key.id, number, material)
    if misses:
        query = Q()
        for key_id, number, _ in misses:
            query |= Q(key_id=key_id, version=number)
        generation = {(key_id, number): gen for key_id, number, gen in misses}
        for key_id, number, stored in KeyVersion.objects.filter(query).values_list("key_id", "version", "material"):
            material = bytes(stored)
            _material.put((key_id, number, generation[(key_id, number)]), material)
            if material:
                found[key_id].refs[number] = VersionRef(key_id, number, material)
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise KeyNotFound(f"no key with id {', '.join(missing)}")
    return found


def _durable() -> None:
    """Make this transaction's commit synchronous again (it is about to write audit evidence)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('synchronous_commit', 'on', true)")


def _versions(snapshot: _KeySnapshot, numbers: set[int]) -> dict[int, VersionRef]:
    missing = numbers - snapshot.refs.keys()
    if missing:
        raise MalformedCiphertext(f"key {snapshot.key.id} has no version {', '.join(map(str, sorted(missing)))}")
    return {number: snapshot.refs[number] for number in numbers}


# --- limits and permissions --------------------------------------------------------------------
def _check_batch(count: int) -> None:
    if count == 0:
        raise BatchTooLarge("a request must carry at least one item")
    if count > settings.SEQUESTER_GATE_MAX_BATCH_ITEMS:
        raise BatchTooLarge(f"at most {settings.SEQUESTER_GATE_MAX_BATCH_ITEMS} items per request, got {count}")


def _check_sizes(*columns: Sequence[bytes]) -> None:
    limit = settings.SEQUESTER_GATE_MAX_PAYLOAD_BYTES
    largest = max((max(map(len, column), default=0) for column in columns), default=0)
    if largest > limit:
        raise PayloadTooLarge(f"an item is {largest} bytes; the limit is {limit}", limit=limit)


# --- refusals: every one is evidence (keyvault.refusals) -----------------------------------------
_REFUSAL = "_refusal"  # the evidence a refusing error carries (never part of the answer)
P = ParamSpec("P")
R = TypeVar("R")


def _evidenced(
    error: DomainError, key: object, operation: Operation, reason: str, state: KeyState | None = None
) -> DomainError:
    vars(error)[_REFUSAL] = Refusal(
        key=str(key),
        operation=operation.value,
        refusal=reason,
        answered=f"{error.http_status} {error.code}",
        state=state.value if state else "",
    )
    return error


def _refusals_recorded(operation: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Around a gate entry point: a refusal the gate decided (not bad input, not a missing key) is
    counted in the refusal ledger once the call's own transaction has ended, then re-raised."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @wraps(function)
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return function(*args, **kwargs)
            except DomainError as error:
                evidence = vars(error).get(_REFUSAL)
                if evidence is not None:
                    _record_refusal(evidence, operation, kwargs)
                raise

        return call

    return decorate


def _record_refusal(evidence: Refusal, operation: str, kwargs: dict[str, object]) -> None:
    principal = kwargs["principal"]
    assert isinstance(principal, Principal)
    context = kwargs.get("context")
    context = context if isinstance(context, UseContext) else UseContext()
    items = kwargs.get("items")
    count = len(items) if isinstance(items, Sequence) else int(str(kwargs.get("count", 1)))
    named = kwargs.get("key_id") or kwargs.get("expected_key_id") or ""
    ledger.record(
        Refusal(evidence.key, operation, evidence.refusal, evidence.answered, evidence.state),
        actor=principal.actor,
        items=count,
        incident=context.incident,
        affected_system=context.affected_system,
        purpose=context.purpose,
        key_named=str(named) if evidence.key == ANY_KEY else "",
    )


def _require(caller: Caller, operation: Operation) -> None:
    if not may_call(caller, operation):
        raise _evidenced(
            GateAccessDenied(
                f"this caller may not {operation.value} with the key gate"
                + (" (permission use_key_gate)" if operation is not Op.DECRYPT else "")
            ),
            ANY_KEY,
            operation,
            "denied",
        )


_REASONS = {Verdict.NOT_FOUND: "segregated", Verdict.DESTROYED: "destroyed", Verdict.DENIED: "denied"}


def _refuse(verdict: Verdict, snapshot: _KeySnapshot, operation: Operation, reason: str = "") -> DomainError:
    """The error a refusing verdict answers with (a hidden key gets exactly what a missing one gets),
    carrying the evidence of the refusal."""
    key_id, state = snapshot.key.id, snapshot.state
    return _evidenced(
        _refusal_error(verdict, key_id, state, operation),
        key_id,
        operation,
        reason or _REASONS.get(verdict, "not_usable"),
        state,
    )


def _refusal_error(verdict: Verdict, key_id: UUID, state: KeyState, operation: Operation) -> DomainError:
    if verdict is Verdict.NOT_FOUND:
        return KeyNotFound(f"no key with id {key_id}")
    if verdict is Verdict.DESTROYED:
        return KeyDestroyed(f"key {key_id} is {state.label}: its material no longer exists")
    if verdict is Verdict.DENIED:
        return GateAccessDenied(f"this caller may not {operation.value} with key {key_id}")
    if operation is Op.DECRYPT:
        return KeyNotUsableForDecryption(
            f"key {key_id} is {state.label}: it cannot decrypt", key=str(key_id), state=state.value
        )
    return KeyNotUsableForEncryption(
        f"key {key_id} is {state.label}: it cannot encrypt"
        + (
            " (no approved, unexpired encryption exception matches this caller and purpose)"
            if state is S.COMPROMISED
            else ""
        ),
        key=str(key_id),
        state=state.value,
    )


# --- encryption --------------------------------------------------------------------------------
def _matching_exception(
    key: ManagedKey, principal: Principal, context: UseContext, count: int
) -> EncryptionException | None:
    now = timezone.now()
    candidate = (
        EncryptionException.objects.select_for_update()
        .filter(
            key_id=key.id,
            principal=principal.actor.name,
            purpose=context.purpose,
            revoked_at__isnull=True,
            expires_at__gt=now,
            operations_used__lte=F("operation_budget") - count,
        )
        .order_by("expires_at")
        .first()
    )
    if candidate is not None:
        candidate.operations_used += count
        candidate.save(update_fields=["operations_used"])
    return candidate


def _encryption_allowed(
    snapshot: _KeySnapshot, principal: Principal, caller: Caller, context: UseContext, count: int, operation: Operation
) -> bool:
    """True for an exception use, False for a plain active use; raise otherwise."""
    verdict = use_verdict(caller, operation, snapshot.state)
    if verdict is Verdict.ALLOW:
        return False
    if verdict is Verdict.EXCEPTION:
        if _matching_exception(snapshot.key, principal, context, count):
            return True
        verdict = refusal(caller, snapshot.state)
        if verdict is Verdict.NOT_FOUND and _named_in_an_exception(snapshot.key, principal):
            verdict = Verdict.NOT_USABLE  # it was told of the compromise when granted one: say why now
        raise _refuse(verdict, snapshot, operation, "no_exception")
    raise _refuse(verdict, snapshot, operation)


def _named_in_an_exception(key: ManagedKey, principal: Principal) -> bool:
    return EncryptionException.objects.filter(key_id=key.id, principal=principal.actor.name).exists()


def _seal(
    backend: KeyBackend, ref: VersionRef, plaintexts: list[bytes], aads: list[bytes], *, exception: bool, wrap: bool
) -> list[bytes]:
    headers, nonces = ct.fresh_headers(ct.prefix_for(ref.key_id, ref.version), len(plaintexts))
    batch = AeadBatch(
        nonces=nonces, data=plaintexts, aads=list(map(bytes.__add__, headers, aads)) if any(aads) else headers
    )
    with backend_errors():
        bodies = (
            backend.wrap(ref, batch) if wrap and not exception else backend.encrypt(ref, batch, exception=exception)
        )
    return list(map(bytes.__add__, headers, bodies))


def _encrypt_locked(
    snapshot: _KeySnapshot,
    plaintexts: list[bytes],
    aads: list[bytes],
    principal: Principal,
    context: UseContext,
    *,
    wrap: bool,
    caller: Caller,
    operation: Operation = Op.ENCRYPT,
) -> list[bytes]:
    key = snapshot.key
    exception = _encryption_allowed(snapshot, principal, caller, context, len(plaintexts), operation)
    ref = _versions(snapshot, {key.current_version})[key.current_version]
    sealed = _seal(key_backend(key), ref, plaintexts, aads, exception=exception, wrap=wrap)
    tally.add(key.id, encrypted=len(sealed))
    if not exception:
        _current[key.id] = _Current(ref, key.material_generation, key.backend)
    if exception:
        _record_use(
            "key.encrypt_under_exception", key, snapshot.state, principal, context, sealed, bulk=len(sealed) > 1
        )
    return sealed


def _columns(items: Sequence[EncryptItem]) -> tuple[list[bytes], list[bytes]]:
    return [item.plaintext for item in items], [item.aad for item in items]


@dataclass(frozen=True, slots=True)
class _Current:
    """The version an active key encrypted with last, as this process saw it."""

    ref: VersionRef
    generation: int
    backend: str


_current: dict[UUID, _Current] = {}
_PG_CHECK = """
SELECT state, current_version, material_generation, set_config('synchronous_commit', 'off', true)
FROM keyvault_managedkey WHERE id = %s FOR SHARE
"""


def _encrypt_then_check(key_id: UUID, plaintexts: list[bytes], aads: list[bytes], *, wrap: bool) -> list[bytes] | None:
    """The one-round-trip path for an active key on PostgreSQL: encrypt with the version this process
    used last, then check the key in one statement. The ciphertext leaves only if, at that check, the
    key is active and that version is still current. The check waits for a state change being
    committed (``FOR SHARE``), so nothing encrypted here is released after a suspension commits; any
    other outcome returns None and the caller takes the transactional path."""
    current = _current.get(key_id)
    if current is None or connection.vendor != "postgresql" or not connection.get_autocommit():
        return None
    sealed = _seal_then_confirm(key_id, current, plaintexts, aads, wrap=wrap)
    if sealed is not None:
        tally.add(key_id, encrypted=len(sealed))
    return sealed


def _seal_then_confirm(
    key_id: UUID, current: _Current, plaintexts: list[bytes], aads: list[bytes], *, wrap: bool
) -> list[bytes] | None:
    """Seal under the version this process used last, then check the key in one statement (``FOR SHARE``:
    waits for a state change being committed). None, and the version forgotten, unless the key is still
    active with that version: the sealed items are then never released."""
    with backend_errors():
        backend = backend_for(current.backend)
    sealed = _seal(backend, current.ref, plaintexts, aads, exception=False, wrap=wrap)
    with connection.cursor() as cursor:
        cursor.execute(_PG_CHECK, [key_id])
        row = cursor.fetchone()
    if row is None or row[0] != S.ACTIVE.value or (row[1], row[2]) != (current.ref.version, current.generation):
        _current.pop(key_id, None)
        return None
    return sealed


@_refusals_recorded("encrypt")
def gate_encrypt(
    *, key_id: UUID, items: Sequence[EncryptItem], principal: Principal, context: UseContext | None = None
) -> list[bytes]:
    caller = principal.caller
    _require(caller, Op.ENCRYPT)
    _check_batch(len(items))
    plaintexts, aads = _columns(items)
    _check_sizes(plaintexts, aads)
    fast = _encrypt_then_check(key_id, plaintexts, aads, wrap=False)
    if fast is not None:
        return fast
    return _encrypt_in_transaction(key_id, plaintexts, aads, principal, caller, context or UseContext(), wrap=False)


@transaction.atomic
def _encrypt_in_transaction(
    key_id: UUID,
    plaintexts: list[bytes],
    aads: list[bytes],
    principal: Principal,
    caller: Caller,
    context: UseContext,
    *,
    wrap: bool,
) -> list[bytes]:
    """Lock the key (share) until commit, then decide: active, exception, or refusal."""
    snapshot = _snapshot([key_id])[key_id]
    return _encrypt_locked(snapshot, plaintexts, aads, principal, context, wrap=wrap, caller=caller)


def alias_resolve(alias: str) -> UUID:
    """The usable key for an alias: the active one (a replacement once the old key is quarantined)."""
    key_id = ManagedKey.objects.filter(alias=alias, state=S.ACTIVE.value).values_list("id", flat=True).first()
    if key_id is None:
        raise AliasHasNoUsableKey(f"no active key under alias {alias!r}", alias=alias)
    return key_id


@_refusals_recorded("encrypt")
@transaction.atomic
def gate_encrypt_alias(
    *, alias: str, items: Sequence[EncryptItem], principal: Principal, context: UseContext | None = None
) -> tuple[UUID, list[bytes]]:
    """Encrypt with the alias's active key. Never a suspended or compromised one, exception or not."""
    caller = principal.caller
    _require(caller, Op.ENCRYPT)
    _check_batch(len(items))
    plaintexts, aads = _columns(items)
    _check_sizes(plaintexts, aads)
    key_id = alias_resolve(alias)
    snapshot = _snapshot([key_id])[key_id]
    if snapshot.state is not S.ACTIVE:  # suspended between resolution and lock
        raise AliasHasNoUsableKey(f"no active key under alias {alias!r}", alias=alias)
    return key_id, _encrypt_locked(
        snapshot, plaintexts, aads, principal, context or UseContext(), wrap=False, caller=caller
    )


@_refusals_recorded("data_key")
def gate_data_keys(
    *, key_id: UUID, principal: Principal, count: int = 1, aad: bytes = b"", context: UseContext | None = None
) -> list[DataKey]:
    """Envelope encryption: fresh data keys, in clear for the caller and wrapped under the key."""
    caller = principal.caller
    _require(caller, Op.ENCRYPT)
    _check_batch(count)
    _check_sizes([aad])
    plaintexts = [os.urandom(DATA_KEY_BYTES) for _ in range(count)]
    aads = [aad] * count
    wrapped = _encrypt_then_check(key_id, plaintexts, aads, wrap=True) or _encrypt_in_transaction(
        key_id, plaintexts, aads, principal, caller, context or UseContext(), wrap=True
    )
    return [DataKey(plaintext=p, wrapped=w) for p, w in zip(plaintexts, wrapped, strict=True)]


# --- decryption --------------------------------------------------------------------------------
def _group(blobs: list[bytes], expected_key_id: UUID | None) -> list[ct.Group]:
    try:
        groups = ct.group_batch(blobs)
    except ct.CiphertextFormatError as exc:
        raise MalformedCiphertext(str(exc)) from None
    for group in groups:
        if expected_key_id is not None and group.key_id != expected_key_id:
            first = group.positions[0]
            raise CiphertextKeyMismatch(
                f"item {first} was encrypted under key {group.key_id}, not {expected_key_id}", item=first
            )
    return groups


def _wanted_versions(groups: Sequence[ct.Group]) -> dict[UUID, set[int]]:
    wanted: dict[UUID, set[int]] = defaultdict(set)
    for group in groups:
        wanted[group.key_id].add(group.key_version)
    return wanted


def _authorize_decrypt(
    snapshot: _KeySnapshot, principal: Principal, caller: Caller, context: UseContext, count: int
) -> int | None:
    """Raise unless ``principal`` may decrypt ``count`` items; for a compromised key, consume a live
    decrypt grant (the caller holds a transaction) and return its id."""
    key, state = snapshot.key, snapshot.state
    verdict = use_verdict(caller, Op.DECRYPT, state)
    if verdict in (Verdict.ALLOW, Verdict.LOGGED):
        return None
    if verdict not in (Verdict.CONTEXT, Verdict.GRANT):
        raise _refuse(verdict, snapshot, Op.DECRYPT)
    if not context.complete:
        raise _evidenced(
            DecryptContextRequired(
                f"key {key.id} is {state.label}: a justification, an incident and the affected system are required",
                key=str(key.id),
                state=state.value,
            ),
            key.id,
            Op.DECRYPT,
            "context_required",
            state,
        )
    if verdict is Verdict.GRANT:
        holder = job_principal(principal.rewrap_job) if principal.rewrap_job else principal.actor.name
        purpose = "rewrap" if principal.rewrap_job else context.purpose
        grant = decrypt_grant_consume(key_id=key.id, principal=holder, purpose=purpose, count=count)
        if grant is None:
            raise _evidenced(
                DecryptGrantRequired(
                    f"key {key.id} is compromised: decrypting needs a live, approved decrypt grant for {holder}"
                    + (f" and purpose {purpose!r}" if purpose else "")
                    + " with budget left (approval compromised_key_decrypt_access)",
                    key=str(key.id),
                    state=state.value,
                ),
                key.id,
                Op.DECRYPT,
                "grant_required",
                state,
            )
        return int(grant.pk)
    return None


def _logged_state(state: KeyState) -> bool:
    return state in QUARANTINED


def _record_use(
    action: str,
    key: ManagedKey,
    state: KeyState,
    principal: Principal,
    context: UseContext,
    blobs: Sequence[bytes],
    *,
    bulk: bool,
    extra: dict[str, object] | None = None,
) -> None:
    """One event per use, or for bulk jobs one event with the count and a digest of what it touched."""
    _durable()
    base: dict[str, object] = {"state": state.value, "purpose": context.purpose, **(extra or {})}
    if principal.rewrap_job:
        base["job"] = principal.rewrap_job
    common = {
        "actor": principal.actor,
        "subject_type": "key",
        "subject_id": key.id,
        "reason": context.justification,
        "incident": context.incident,
        "affected_system": context.affected_system,
    }
    if bulk:
        fingerprints = [ct.fingerprint(blob) for blob in blobs]
        digest = hashlib.sha256("".join(fingerprints).encode()).hexdigest()
        data = base | {"count": len(blobs), "ciphertexts_digest": digest}
        if len(fingerprints) <= _DIGEST_LIST_LIMIT:
            data["ciphertexts"] = fingerprints
        audit_record(action=f"{action}_batch", data=data, **common)  # type: ignore[arg-type]
        return
    for blob in blobs:
        audit_record(action=action, data=base | {"ciphertext": ct.fingerprint(blob)}, **common)  # type: ignore[arg-type]


_NONCE = itemgetter(slice(ct.PREFIX_BYTES, ct.HEADER_BYTES))
_BODY = itemgetter(slice(ct.HEADER_BYTES, None))
_HEADER = itemgetter(slice(0, ct.HEADER_BYTES))


def _open(backend: KeyBackend, ref: VersionRef, blobs: list[bytes], aads: list[bytes]) -> list[bytes]:
    headers = list(map(_HEADER, blobs))
    batch = AeadBatch(
        nonces=list(map(_NONCE, blobs)),
        data=list(map(_BODY, blobs)),
        aads=headers if not any(aads) else list(map(bytes.__add__, headers, aads)),
    )
    with backend_errors():
        return backend.decrypt(ref, batch)


def _decrypt_locked(
    snapshots: dict[UUID, _KeySnapshot],
    blobs: list[bytes],
    aads: list[bytes],
    groups: Sequence[ct.Group],
    principal: Principal,
    context: UseContext,
    *,
    caller: Caller,
    action: str = "key.decrypt",
) -> list[bytes]:
    by_key: dict[UUID, list[ct.Group]] = defaultdict(list)
    for group in groups:
        by_key[group.key_id].append(group)
    grants = {
        key_id: _authorize_decrypt(
            snapshots[key_id], principal, caller, context, sum(len(g.positions) for g in by_key[key_id])
        )
        for key_id in sorted(by_key)
    }
    out: list[bytes] = [b""] * len(blobs)
    for key_id in sorted(by_key):
        snapshot = snapshots[key_id]
        key_groups = by_key[key_id]
        refs = _versions(snapshot, {g.key_version for g in key_groups})
        backend = key_backend(snapshot.key)
        for group in key_groups:
            if len(groups) == 1:  # the whole batch: no per-item regrouping
                out = _open(backend, refs[group.key_version], blobs, aads)
                continue
            plaintexts = _open(
                backend,
                refs[group.key_version],
                [blobs[p] for p in group.positions],
                [aads[p] for p in group.positions],
            )
            for position, plaintext in zip(group.positions, plaintexts, strict=True):
                out[position] = plaintext
        tally.add(key_id, decrypted=sum(len(g.positions) for g in key_groups))
        if _logged_state(snapshot.state):
            used = blobs if len(groups) == 1 else [blobs[p] for g in key_groups for p in g.positions]
            extra: dict[str, object] | None = {"grant": grants[key_id]} if grants[key_id] is not None else None
            with transaction.atomic():
                _record_use(
                    action,
                    snapshot.key,
                    snapshot.state,
                    principal,
                    context,
                    used,
                    bulk=bool(principal.rewrap_job),
                    extra=extra,
                )
    return out


@_refusals_recorded("decrypt")
def gate_decrypt(
    *,
    items: Sequence[DecryptItem],
    principal: Principal,
    context: UseContext | None = None,
    expected_key_id: UUID | None = None,
) -> list[bytes]:
    """Decrypt self-describing ciphertexts (the key comes from each one's header).

    No transaction is held around the decryption: the state is read in one statement (which waits for
    a state change being committed), and the evidence of a logged use is committed before the
    plaintext is returned. Encryption, by contrast, holds its share lock until it commits."""
    caller = principal.caller
    _require(caller, Op.DECRYPT)
    _check_batch(len(items))
    blobs, aads = [item.ciphertext for item in items], [item.aad for item in items]
    _check_sizes(aads)
    groups = _group(blobs, expected_key_id)
    snapshots = _snapshot([g.key_id for g in groups], _wanted_versions(groups), lock=False)
    if any(_logged_state(snapshot.state) for snapshot in snapshots.values()):
        # Evidence and grant budgets: the use, its grant and its audit events commit together.
        with transaction.atomic():
            return _decrypt_locked(snapshots, blobs, aads, groups, principal, context or UseContext(), caller=caller)
    return _decrypt_locked(snapshots, blobs, aads, groups, principal, context or UseContext(), caller=caller)


# --- rewrap ------------------------------------------------------------------------------------
def _rewrap_target(source: ManagedKey, target_key_id: UUID | None) -> UUID:
    if target_key_id is not None:
        return target_key_id
    if source.replaced_by_id is not None:
        return source.replaced_by_id
    try:
        return alias_resolve(source.alias)
    except AliasHasNoUsableKey:
        raise KeyNotUsableForEncryption(
            f"key {source.id} has no replacement and no active key shares its alias: name a target_key"
        ) from None


@_refusals_recorded("rewrap")
def gate_rewrap(
    *,
    items: Sequence[DecryptItem],
    principal: Principal,
    context: UseContext | None = None,
    target_key_id: UUID | None = None,
    expected_key_id: UUID | None = None,
) -> tuple[UUID, list[bytes]]:
    """Decrypt under the ciphertexts' key and encrypt under the target: the plaintext never leaves this
    process. The decrypt side follows the source key's rules; the encrypt side is part of the rewrap (an
    incident responder may rewrap without the gate permission). Between keys whose uses leave no
    evidence, one read and one check (``_rewrap_then_check``); otherwise one transaction."""
    context = context or UseContext()
    caller = principal.caller
    _require(caller, Op.REWRAP)
    _check_batch(len(items))
    blobs, aads = [item.ciphertext for item in items], [item.aad for item in items]
    _check_sizes(aads)
    groups = _group(blobs, expected_key_id)
    source_ids = {g.key_id for g in groups}
    if target_key_id is None:
        sources = list(ManagedKey.objects.filter(id__in=source_ids).only("id", "alias", "state", "replaced_by_id"))
        if len(sources) != len(source_ids):
            missing = sorted(str(i) for i in source_ids - {source.id for source in sources})
            raise KeyNotFound(f"no key with id {', '.join(missing)}")
        for source in sources:  # a source the caller may not decrypt, it may not learn the replacement of
            if use_verdict(caller, Op.DECRYPT, source.key_state) is Verdict.NOT_FOUND:
                raise _evidenced(
                    KeyNotFound(f"no key with id {source.id}"), source.id, Op.REWRAP, "segregated", source.key_state
                )
        targets = {_rewrap_target(source, None) for source in sources}
        if len(targets) != 1:
            raise CiphertextKeyMismatch("a rewrap request must resolve to a single target key; name target_key")
        (target_key_id,) = targets
    target_id = target_key_id
    if target_id in source_ids:
        raise CiphertextKeyMismatch("the target key is the ciphertexts' own key")
    fast = _rewrap_then_check(target_id, blobs, aads, groups, principal, caller, context)
    if fast is not None:
        return target_id, fast
    return target_id, _rewrap_in_transaction(target_id, blobs, aads, groups, principal, caller, context)


def _rewrap_then_check(
    target_id: UUID,
    blobs: list[bytes],
    aads: list[bytes],
    groups: Sequence[ct.Group],
    principal: Principal,
    caller: Caller,
    context: UseContext,
) -> list[bytes] | None:
    """Rewrap between keys whose uses leave no evidence (no logged state, no grant), on PostgreSQL,
    without a transaction: the sources are read as ``gate_decrypt`` reads them (the last committed
    state), the plaintexts sealed under the version of the target this process used last, and the
    target then checked in one statement, as ``_encrypt_then_check`` does: the ciphertexts leave only if
    the target is active with that version at the check, which waits for a state change being
    committed. None (nothing decrypted, nothing counted) sends the caller to the transactional path."""
    current = _current.get(target_id)
    if current is None or connection.vendor != "postgresql" or not connection.get_autocommit():
        return None
    if use_verdict(caller, Op.REWRAP, S.ACTIVE) is not Verdict.ALLOW:
        return None
    sources = _snapshot([g.key_id for g in groups], _wanted_versions(groups), lock=False)
    if any(
        _logged_state(s.state) or use_verdict(caller, Op.DECRYPT, s.state) is not Verdict.ALLOW
        for s in sources.values()
    ):
        return None  # evidence, context or a grant: the transactional path decides and records
    opened: list[bytes] = [b""] * len(blobs)
    for group in groups:
        snapshot = sources[group.key_id]
        ref = _versions(snapshot, {group.key_version})[group.key_version]
        if len(groups) == 1:
            opened = _open(key_backend(snapshot.key), ref, blobs, aads)
            continue
        positions = group.positions
        plaintexts = _open(key_backend(snapshot.key), ref, [blobs[p] for p in positions], [aads[p] for p in positions])
        for position, plaintext in zip(positions, plaintexts, strict=True):
            opened[position] = plaintext
    sealed = _seal_then_confirm(target_id, current, opened, aads, wrap=False)
    if sealed is None:
        return None
    for group in groups:
        tally.add(group.key_id, decrypted=len(group.positions))
    tally.add(target_id, encrypted=len(sealed))
    return sealed


@transaction.atomic
def _rewrap_in_transaction(
    target_id: UUID,
    blobs: list[bytes],
    aads: list[bytes],
    groups: Sequence[ct.Group],
    principal: Principal,
    caller: Caller,
    context: UseContext,
) -> list[bytes]:
    """Both sides under share locks until commit: decrypt grants consumed and logged uses recorded with
    the operation, and the target's state decided as it is encrypted under."""
    source_ids = {g.key_id for g in groups}
    snapshots = _snapshot([*source_ids, target_id], _wanted_versions(groups))
    target = snapshots[target_id]
    verdict = use_verdict(caller, Op.REWRAP, target.state)
    if verdict is not Verdict.ALLOW:
        raise _refuse(verdict, target, Op.REWRAP)
    plaintexts = _decrypt_locked(
        snapshots, blobs, aads, groups, principal, context, caller=caller, action="key.rewrap_decrypt"
    )
    return _encrypt_locked(target, plaintexts, aads, principal, context, wrap=False, caller=caller, operation=Op.REWRAP)
