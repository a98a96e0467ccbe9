"""The blast radius as a picture (inline SVG, drawn here: no library, no network): reported keys, what
they wrapped, the systems and data assets exposed, and where the data's people live."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any
from uuid import UUID

from keyvault.models import DataAsset, ManagedKey
from keyvault.services.blast_radius import key_descendant_ids

# The page's content box is A4 less the case file's 14 mm side margins: 182 mm = 687 CSS px. The picture
# is drawn within 680 px so that nothing runs off the page.
WIDTH, ROW, TOP = 680, 34, 30
COLUMNS = (0, 236, 472)
BOX_WIDTH = 206
MAX_ROWS = 14
LABEL_CHARS, DETAIL_CHARS = 32, 44  # DejaVu Sans bold at 8 px, regular at 7 px: within BOX_WIDTH
# WeasyPrint's SVG renderer ignores the CSS ``font`` shorthand (the labels were drawn at no size at all):
# text is styled with presentation attributes, which every SVG renderer reads.
FONT = 'font-family="DejaVu Sans"'
TONES = {  # fill, stroke of each kind of box
    "key": ("#fde8e8", "#b42318"),
    "asset": ("#fff4e5", "#b54708"),
    "system": ("#eef4ff", "#3538cd"),
    "more": ("#f2f4f7", "#98a2b3"),
}


@dataclass(frozen=True, slots=True)
class Node:
    label: str
    detail: str
    tone: str  # css class: key, system, asset


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _box(x: int, y: int, node: Node) -> str:
    fill, stroke = TONES.get(node.tone, TONES["more"])
    return (
        f'<g class="{node.tone}"><rect x="{x}" y="{y}" width="{BOX_WIDTH}" height="{ROW - 8}" rx="4" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="0.8"/>'
        f'<text x="{x + 8}" y="{y + 11}" {FONT} font-size="8" font-weight="bold" fill="#101828">'
        f"{escape(_cut(node.label, LABEL_CHARS))}</text>"
        f'<text x="{x + 8}" y="{y + 22}" {FONT} font-size="7" fill="#475467">'
        f"{escape(_cut(node.detail, DETAIL_CHARS))}</text></g>"
    )


def _edge(x1: int, y1: int, x2: int, y2: int) -> str:
    mid = (x1 + x2) // 2
    return f'<path d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" fill="none" stroke="#98a2b3" stroke-width="0.8"/>'


def _heading(x: int, text: str) -> str:
    return f'<text x="{x}" y="14" {FONT} font-size="9" font-weight="bold" fill="#101828">{escape(text)}</text>'


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
        f'role="img" aria-label="Blast radius: reported keys, the data assets they expose, and their systems">',
        _heading(COLUMNS[0], "Reported keys"),
        _heading(COLUMNS[1], "Data assets exposed"),
        _heading(COLUMNS[2], "Systems"),
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
