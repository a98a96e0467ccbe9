"""The key inventory for auditors' sampling: every managed key with its state — quarantined, retired and
destroyed keys included — as CSV or JSON, never any key material. Each export is an audit event."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import IO, Any

from django.db.models import Prefetch
from django.utils import timezone

from audit.actors import Actor
from audit.chain import timestamp
from audit.services import audit_record
from keyvault.errors import InvalidKeyRequest
from keyvault.models import KeyVersion, ManagedKey

FORMATS = ("csv", "json")
CHUNK = 2000
DATES = (
    "created_at",
    "activated_at",
    "suspended_at",
    "compromise_occurred_at",
    "compromise_discovered_at",
    "deactivated_at",
    "destroyed_at",
    "restricted_at",
    "retired_at",
    "state_changed_at",
)
COLUMNS = (
    "id",
    "alias",
    "purpose",
    "algorithm",
    "backend",
    "state",
    "ai_category",
    "current_version",
    "fingerprint",
    "versions",
    "parent",
    "replaced_by",
    "retired_reason",
    "custodian",
    "legal_hold",
    "external_ref",
    "systems",
    "data_assets",
    "incidents",
    *DATES,
)


def _row(key: ManagedKey) -> dict[str, Any]:
    versions = list(key.versions.all())
    current = [v.fingerprint for v in versions if v.version == key.current_version]
    return {
        "id": str(key.id),
        "alias": key.alias,
        "purpose": key.purpose,
        "algorithm": key.algorithm,
        "backend": key.backend,
        "state": key.state,
        "ai_category": key.ai_category,
        "current_version": key.current_version,
        "fingerprint": current[0] if current else "",
        "versions": len(versions),
        "parent": str(key.parent_id or ""),
        "replaced_by": str(key.replaced_by_id or ""),
        "retired_reason": key.retired_reason,
        "custodian": key.custodian.get_username() if key.custodian else "",
        "legal_hold": key.legal_hold,
        "external_ref": key.external_ref,
        "systems": sorted(s.name for s in key.systems.all()),
        "data_assets": sorted(a.name for a in key.data_assets.all()),
        "incidents": sorted({link.incident.reference for link in key.incident_links.all()}),
        **{name: timestamp(value) if (value := getattr(key, name)) else "" for name in DATES},
    }


def key_inventory_rows() -> Iterator[dict[str, Any]]:
    """Every key, in a stable order, read in chunks (memory stays flat however many keys there are).
    Versions are read for their fingerprints only: the material column is never loaded."""
    keys = (
        ManagedKey.objects.select_related("custodian")
        .prefetch_related(
            Prefetch("versions", queryset=KeyVersion.objects.only("id", "key_id", "version", "fingerprint")),
            "systems",
            "data_assets",
            "incident_links__incident",
        )
        .order_by("created_at", "id")
    )
    for key in keys.iterator(chunk_size=CHUNK):
        yield _row(key)


def key_inventory_write(*, out: IO[str], format: str, actor: Actor) -> int:
    """Record the export, then write the inventory to ``out`` (CSV: lists joined by ``;``). Returns rows."""
    if format not in FORMATS:
        raise InvalidKeyRequest(f"unknown format {format!r}: use csv or json")
    audit_record(
        action="keys.inventory_exported",
        actor=actor,
        subject_type="audit",
        subject_id="key-inventory",
        reason="key inventory exported for sampling",
        data={"format": format},
    )
    count = 0
    if format == "csv":
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        for row in key_inventory_rows():
            writer.writerow({k: ";".join(v) if isinstance(v, list) else v for k, v in row.items()})
            count += 1
        return count
    out.write(
        '{"format": "sequester.key-inventory/1", "exported_at": '
        + json.dumps(timestamp(timezone.now()))
        + ', "exported_by": '
        + json.dumps(actor.name)
        + ', "keys": ['
    )
    for row in key_inventory_rows():
        out.write(("," if count else "") + "\n" + json.dumps(row, sort_keys=True))
        count += 1
    out.write("\n]}\n")
    return count
