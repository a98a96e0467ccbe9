"""Key managers: register one (connection tested first, credentials sealed), import and sync its keys."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from audit.actors import Actor
from audit.services import audit_record
from keyvault.backends.managers import RemoteKey
from keyvault.errors import InvalidKeyRequest
from keyvault.models import USAGE_SHARDS, KeyManager, KeyUsage, KeyVersion, ManagedKey
from keyvault.services.connectors import connector_build, connector_for, credentials_seal, credentials_unseal
from keyvault.services.versions import backend_errors
from keyvault.states import DESTROYED_STATES, KeyState
from webapp.errors import DomainError


class KeyManagerNotFound(DomainError):
    code = "key_manager_not_found"
    http_status = 404


class KeyManagerExists(DomainError):
    code = "key_manager_exists"
    http_status = 409


# What each kind needs besides its name.
REQUIRED = {
    KeyManager.Kind.OPENBAO: ("url", "token"),
    KeyManager.Kind.VAULT: ("url", "token"),
    KeyManager.Kind.KMIP: ("url", "client_cert", "client_key"),
    KeyManager.Kind.AWS_KMS: ("region",),
}


def key_manager_get(name: str) -> KeyManager:
    manager = KeyManager.objects.filter(name=name).first()
    if manager is None:
        raise KeyManagerNotFound(f"no key manager named {name!r}")
    return manager


def key_manager_validate(manager: KeyManager, credentials: dict[str, str]) -> None:
    if manager.kind not in KeyManager.Kind.values:
        raise InvalidKeyRequest(f"unknown kind {manager.kind!r}; use one of {', '.join(KeyManager.Kind.values)}")
    if not manager.name or slugify(manager.name) != manager.name:
        raise InvalidKeyRequest("a key manager's name is a slug (letters, digits, - and _)")
    given = {"url": manager.url, "region": manager.region, **credentials}
    missing = [what for what in REQUIRED[KeyManager.Kind(manager.kind)] if not given.get(what)]
    if missing:
        raise InvalidKeyRequest(f"a {manager.kind} key manager needs {', '.join(missing)}", missing=missing)


def key_manager_test(*, manager: KeyManager, credentials: dict[str, str] | None = None) -> str:
    """Reach the manager and check the connector's permissions; raises key_manager_unreachable /
    key_manager_denied / key_manager_invalid with a clear message."""
    with backend_errors():
        return connector_build(manager, credentials).test_connection()


@transaction.atomic
def key_manager_add(
    *,
    actor: Actor,
    name: str,
    kind: str,
    credentials: dict[str, str],
    url: str = "",
    mount: str = "transit",
    region: str = "",
    governed_policy: str = "default",
    options: dict[str, Any] | None = None,
) -> tuple[KeyManager, str]:
    """Register a key manager after a successful connection test; nothing is stored when it fails."""
    manager = KeyManager(
        name=name,
        kind=kind,
        url=url,
        mount=mount or "transit",
        region=region,
        governed_policy=governed_policy or "default",
        options=options or {},
    )
    return manager, key_manager_save(actor=actor, manager=manager, credentials=credentials, created=True)


@transaction.atomic
def key_manager_save(
    *, actor: Actor, manager: KeyManager, credentials: dict[str, str] | None, created: bool = False
) -> str:
    """Store a new or changed key manager once its settings (and the given credentials, else the stored
    ones) pass the connection test; the credentials are sealed, never logged or audited."""
    if created and KeyManager.objects.filter(name=manager.name).exists():
        raise KeyManagerExists(f"a key manager named {manager.name!r} exists already")
    if credentials is None:
        credentials = credentials_unseal(manager) if manager.sealed_credentials else {}
    key_manager_validate(manager, credentials)
    description = key_manager_test(manager=manager, credentials=credentials)
    manager.sealed_credentials = credentials_seal(manager.name, credentials)
    manager.save()
    audit_record(
        action="key_manager.added" if created else "key_manager.changed",
        actor=actor,
        subject_type="key_manager",
        subject_id=manager.name,
        reason=f"connection tested: {description}",
        data={
            "kind": manager.kind,
            "url": manager.url,
            "mount": manager.mount,
            "region": manager.region,
            "policy": manager.governed_policy,
            "options": manager.options,
        },
    )
    return description


# --- inventory --------------------------------------------------------------------------------------
@dataclass
class SyncReport:
    manager: str
    imported: list[str] = field(default_factory=list)
    new_versions: list[str] = field(default_factory=list)
    changed: list[dict[str, str]] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)
    unchanged: int = 0
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _free_alias(manager: KeyManager, name: str) -> str:
    """The manager's name for the key, unless a key that still exists holds that alias already."""
    base = slugify(name)[:80] or "key"
    prefixed = f"{manager.name}-{base}"[:90]
    taken = set(
        ManagedKey.objects.filter(Q(alias=base) | Q(alias__startswith=prefixed))
        .exclude(state__in=[s.value for s in DESTROYED_STATES])
        .values_list("alias", flat=True)
    )
    candidate, number = base, 1
    while candidate in taken:
        candidate = prefixed if number == 1 else f"{prefixed}-{number}"
        number += 1
    return candidate


def _import(manager: KeyManager, remote: RemoteKey, actor: Actor) -> ManagedKey:
    state = remote.state if remote.state in KeyState.__members__.values() else KeyState.ACTIVE.value
    now = timezone.now()
    key = ManagedKey.objects.create(
        alias=_free_alias(manager, remote.name),
        purpose=f"imported from key manager {manager.name}",
        backend=ManagedKey.Backend.MANAGER,
        manager=manager,
        external_ref=f"{manager.name}:{remote.ident}",
        state=state,
        current_version=max((v.version for v in remote.versions), default=1),
        activated_at=now if state == KeyState.ACTIVE.value else None,
        suspended_at=now if state == KeyState.SUSPENDED.value else None,
        deactivated_at=now if state == KeyState.DEACTIVATED.value else None,
    )
    KeyUsage.objects.bulk_create([KeyUsage(key=key, shard=shard) for shard in range(USAGE_SHARDS)])
    KeyVersion.objects.bulk_create(
        [KeyVersion(key=key, version=v.version, material=v.material, fingerprint="") for v in remote.versions]
    )
    audit_record(
        action="key.imported",
        actor=actor,
        subject_type="key",
        subject_id=key.id,
        reason=f"imported from key manager {manager.name}",
        data={"backend_ref": key.external_ref, "alias": key.alias, "state": state, "detail": remote.detail},
    )
    return key


@transaction.atomic
def key_manager_sync(*, name: str, actor: Actor) -> SyncReport:
    """Import the manager's keys (alias = the manager's name for it unless taken, backend_ref =
    ``NAME:<id>``, versions, state); add versions rotated outside Sequester; report keys that vanished
    or whose state on the manager differs from Sequester's."""
    manager = KeyManager.objects.select_for_update().filter(name=name).first()
    if manager is None:
        raise KeyManagerNotFound(f"no key manager named {name!r}")
    with backend_errors():
        remote_keys = connector_for(manager).list_keys()
    report = SyncReport(manager=manager.name)
    known: dict[str, list[ManagedKey]] = defaultdict(list)
    for key in ManagedKey.objects.filter(manager=manager).order_by("created_at"):
        known[key.external_ref].append(key)
    materials = {bytes(m) for m in KeyVersion.objects.filter(key__manager=manager).values_list("material", flat=True)}
    seen = set()
    for remote in remote_keys:
        ref = f"{manager.name}:{remote.ident}"
        seen.add(ref)
        keys = [k for k in known.get(ref, []) if k.key_state not in DESTROYED_STATES]
        if not known.get(ref):
            report.imported.append(_import(manager, remote, actor).alias)
            continue
        if not keys:
            report.changed.append({"key": ref, "change": "destroyed in Sequester, still present on the manager"})
            continue
        current = next((k for k in reversed(keys) if k.key_state is KeyState.ACTIVE), keys[-1])
        fresh = [v for v in remote.versions if v.material not in materials]
        if fresh:
            KeyVersion.objects.bulk_create(
                [KeyVersion(key=current, version=v.version, material=v.material, fingerprint="") for v in fresh]
            )
            current.current_version = max(current.current_version, *(v.version for v in fresh))
            current.save(update_fields=["current_version"])
            note = f"{ref}: version(s) {', '.join(str(v.version) for v in fresh)} made outside Sequester"
            report.new_versions.append(note)
            audit_record(
                action="key.versions_imported",
                actor=actor,
                subject_type="key",
                subject_id=current.id,
                reason=note,
                data={"versions": [v.version for v in fresh]},
            )
        if remote.state != current.state and not _consistent(current, remote):
            report.changed.append({"key": ref, "change": f"Sequester: {current.state}; manager: {remote.state}"})
        elif not fresh:
            report.unchanged += 1
    for ref, keys in known.items():
        alive = [k for k in keys if k.key_state not in DESTROYED_STATES]
        if ref not in seen and alive:
            report.vanished.append(ref)
            for key in alive:
                audit_record(
                    action="key.vanished_from_manager",
                    actor=actor,
                    subject_type="key",
                    subject_id=key.id,
                    reason=f"{ref} is no longer listed by key manager {manager.name}",
                    data={"state": key.state},
                )
    manager.last_sync_at = timezone.now()
    manager.last_sync_report = report.as_dict()
    manager.save(update_fields=["last_sync_at", "last_sync_report"])
    audit_record(
        action="key_manager.synced",
        actor=actor,
        subject_type="key_manager",
        subject_id=manager.name,
        reason=(
            f"{len(report.imported)} imported, {len(report.new_versions)} with new versions, "
            f"{len(report.changed)} changed, {len(report.vanished)} vanished"
        ),
        data={"changed": report.changed, "vanished": report.vanished},
    )
    return report


def _consistent(key: ManagedKey, remote: RemoteKey) -> bool:
    """States that differ in name only: Sequester's quarantine is the manager's decrypt-only."""
    restricted = {KeyState.SUSPENDED.value, KeyState.DEACTIVATED.value, KeyState.COMPROMISED.value}
    return key.state in restricted and remote.state in restricted


def key_managers_sync_all(*, actor: Actor) -> int:
    synced = 0
    for name in KeyManager.objects.values_list("name", flat=True):
        try:
            key_manager_sync(name=name, actor=actor)
            synced += 1
        except DomainError as exc:
            KeyManager.objects.filter(name=name).update(
                last_sync_report={"manager": name, "error": f"{exc.code}: {exc.message}"}
            )
            audit_record(
                action="key_manager.sync_failed",
                actor=actor,
                subject_type="key_manager",
                subject_id=name,
                reason=exc.message,
                data={"code": exc.code},
            )
    return synced
