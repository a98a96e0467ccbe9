"""The blast radius as a picture (inline SVG, drawn here: no library, no network): reported keys, what
they wrapped, the systems and data assets exposed, and where the data's people live."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any
from uuid import UUID

from keyvault.models import DataAsset, ManagedKey
from keyvault.services.blast_radius import key_descendant_ids

WIDTH, ROW, TOP = 760, 34, 30
COLUMNS = (20, 270, 520)
BOX_WIDTH = 220
MAX_ROWS = 14


@dataclass(frozen=True, slots=True)
class Node:
    label: str
    detail: str
    tone: str  # css class: key, system, asset


def _box(x: int, y: int, node: Node) -> str:
    return (
        f'<g class="{node.tone}"><rect x="{x}" y="{y}" width="{BOX_WIDTH}" height="{ROW - 8}" rx="4"/>'
        f'<text x="{x + 8}" y="{y + 11}" class="label">{escape(node.label[:34])}</text>'
        f'<text x="{x + 8}" y="{y + 22}" class="detail">{escape(node.detail[:44])}</text></g>'
    )


def _edge(x1: int, y1: int, x2: int, y2: int) -> str:
    mid = (x1 + x2) // 2
    return f'<path d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" class="edge"/>'


def _capped(nodes: list[Node], what: str) -> list[Node]:
    if len(nodes) <= MAX_ROWS:
        return nodes
    rest = len(nodes) - (MAX_ROWS - 1)
    return [*nodes[: MAX_ROWS - 1], Node(f"… and {rest} more {what}", "listed in the tables", "more")]


def blast_radius_svg(root_ids: list[str], radius: dict[str, Any]) -> str:
    """Keys (with how many keys each wrapped) → data assets (records, categories) → systems."""
    roots = list(ManagedKey.objects.filter(id__in=[UUID(r) for r in root_ids]).order_by("alias"))
    key_nodes: list[Node] = []
    edges: set[tuple[int, str]] = set()
    for index, key in enumerate(roots):
        wrapped = key_descendant_ids([key.id])
        key_nodes.append(Node(key.alias, f"{key.state} · wrapped {len(wrapped)} key(s)", "key"))
        assets = DataAsset.objects.filter(keys__id__in=[key.id, *wrapped]).values_list("name", flat=True).distinct()
        edges.update((index, name) for name in assets)
    assets_by_name = {a["name"]: a for a in radius.get("data_assets", [])}
    asset_names = sorted(assets_by_name)
    asset_nodes = [
        Node(
            name,
            f"{assets_by_name[name]['record_count']:,} records · {', '.join(assets_by_name[name]['jurisdictions'])}",
            "asset",
        )
        for name in asset_names
    ]
    systems = sorted({str(a["system"]) for a in assets_by_name.values()} | set(radius.get("systems", [])))
    system_nodes = [Node(name, "system", "system") for name in systems]
    key_nodes, asset_nodes, system_nodes = (
        _capped(key_nodes, "keys"),
        _capped(asset_nodes, "assets"),
        _capped(system_nodes, "systems"),
    )
    rows = max(len(key_nodes), len(asset_nodes), len(system_nodes), 1)
    height = TOP + rows * ROW + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-label="Blast radius">',
        "<style>rect{stroke-width:0.8}.key rect{fill:#fde8e8;stroke:#b42318}.asset rect{fill:#fff4e5;stroke:#b54708}"
        ".system rect{fill:#eef4ff;stroke:#3538cd}.more rect{fill:#f2f4f7;stroke:#98a2b3}"
        ".label{font:bold 8px 'DejaVu Sans'}.detail{font:7px 'DejaVu Sans';fill:#475467}"
        ".edge{fill:none;stroke:#98a2b3;stroke-width:0.8}.head{font:bold 9px 'DejaVu Sans'}</style>",
        f'<text x="{COLUMNS[0]}" y="14" class="head">Reported keys</text>',
        f'<text x="{COLUMNS[1]}" y="14" class="head">Data assets exposed</text>',
        f'<text x="{COLUMNS[2]}" y="14" class="head">Systems</text>',
    ]
    centre = (ROW - 8) // 2
    row_of_asset = {node.label: i for i, node in enumerate(asset_nodes)}
    row_of_system = {node.label: i for i, node in enumerate(system_nodes)}
    for key_row, asset_name in sorted(edges):
        if key_row < len(key_nodes) and asset_name in row_of_asset:
            y1, y2 = TOP + key_row * ROW + centre, TOP + row_of_asset[asset_name] * ROW + centre
            parts.append(_edge(COLUMNS[0] + BOX_WIDTH, y1, COLUMNS[1], y2))
    for name, asset in assets_by_name.items():
        system = str(asset["system"])
        if name in row_of_asset and system in row_of_system:
            y1, y2 = TOP + row_of_asset[name] * ROW + centre, TOP + row_of_system[system] * ROW + centre
            parts.append(_edge(COLUMNS[1] + BOX_WIDTH, y1, COLUMNS[2], y2))
    for column, nodes in zip(COLUMNS, (key_nodes, asset_nodes, system_nodes), strict=True):
        parts.extend(_box(column, TOP + i * ROW, node) for i, node in enumerate(nodes))
    parts.append("</svg>")
    return "".join(parts)
