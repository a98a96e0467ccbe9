"""Blast radius: every key a compromised key wrapped, and the data, systems and places they protect."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from uuid import UUID

from django.db.models import F

from keyvault.models import DataAsset, ManagedKey, System
from keyvault.set_filters import AnyOf


def key_descendant_ids(roots: Iterable[UUID]) -> list[UUID]:
    """Every key below ``roots`` in the hierarchy (one query per level), roots excluded."""
    seen: set[UUID] = set(roots)
    frontier = list(seen)
    found: list[UUID] = []
    while frontier:
        children = list(ManagedKey.objects.filter(AnyOf(F("parent_id"), frontier)).values_list("id", flat=True))
        frontier = [child for child in children if child not in seen]
        seen.update(frontier)
        found.extend(frontier)
    return found


@dataclass(frozen=True, slots=True)
class AssetExposure:
    id: int
    name: str
    system: str
    data_categories: list[str]
    record_count: int
    jurisdictions: list[str]
    encrypted: bool


@dataclass(frozen=True, slots=True)
class BlastRadius:
    root_keys: list[str]
    keys: list[str]  # roots and every key they wrapped
    data_assets: list[AssetExposure] = field(default_factory=list)
    systems: list[str] = field(default_factory=list)
    jurisdictions: list[str] = field(default_factory=list)
    data_categories: list[str] = field(default_factory=list)
    ai_categories: list[str] = field(default_factory=list)
    record_count: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "root_keys": self.root_keys,
            "keys": self.keys,
            "key_count": len(self.keys),
            "data_assets": [vars_of(asset) for asset in self.data_assets],
            "systems": self.systems,
            "jurisdictions": self.jurisdictions,
            "data_categories": self.data_categories,
            "ai_categories": self.ai_categories,
            "record_count": self.record_count,
        }


def vars_of(asset: AssetExposure) -> dict[str, object]:
    return {name: getattr(asset, name) for name in AssetExposure.__slots__}


def key_blast_radius(roots: Iterable[UUID]) -> BlastRadius:
    root_ids = list(dict.fromkeys(roots))
    all_ids = root_ids + key_descendant_ids(root_ids)
    assets = list(DataAsset.objects.filter(keys__id__in=all_ids).select_related("system").distinct().order_by("name"))
    systems = System.objects.filter(keys__id__in=all_ids).values_list("name", flat=True)
    system_names = sorted(set(systems) | {asset.system.name for asset in assets})
    ai = ManagedKey.objects.filter(id__in=all_ids).exclude(ai_category="").values_list("ai_category", flat=True)
    return BlastRadius(
        root_keys=[str(i) for i in root_ids],
        keys=[str(i) for i in all_ids],
        data_assets=[
            AssetExposure(
                id=asset.id,
                name=asset.name,
                system=asset.system.name,
                data_categories=list(asset.data_categories),
                record_count=asset.record_count,
                jurisdictions=list(asset.jurisdictions),
                encrypted=asset.encrypted,
            )
            for asset in assets
        ],
        systems=system_names,
        jurisdictions=sorted({j for asset in assets for j in asset.jurisdictions}),
        data_categories=sorted({c for asset in assets for c in asset.data_categories}),
        ai_categories=sorted(set(ai)),
        record_count=sum(asset.record_count for asset in assets),
    )
