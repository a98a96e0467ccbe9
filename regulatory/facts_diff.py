"""What changed between two versions of the facts (or of the organisation profile), field by field.

Pure. Objects are walked into dotted paths (``entity.roles``, ``decisions.high_risk.value``); lists of
objects with an ``id`` or a ``name`` are matched by it (``data.blocks[Card holder data].subjects_total``);
other lists are compared whole. The pre-fill's own bookkeeping (``extra.prefill``) is left out."""

from __future__ import annotations

from typing import Any

IGNORED = ("extra.prefill",)


def _flatten(value: Any, path: str, out: dict[str, Any]) -> None:
    if path in IGNORED:
        return
    if isinstance(value, dict):
        if not value and path:
            out[path] = {}
        for key, item in value.items():
            _flatten(item, f"{path}.{key}" if path else str(key), out)
        return
    if isinstance(value, list) and value and all(isinstance(i, dict) and ("id" in i or "name" in i) for i in value):
        for item in value:
            _flatten(item, f"{path}[{item.get('id', item.get('name'))}]", out)
        return
    out[path] = value


def facts_diff(before: dict[str, Any] | None, after: dict[str, Any]) -> list[dict[str, Any]]:
    """``[{"path", "before", "after"}]`` for every field added, removed or changed (sorted by path)."""
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    _flatten(before or {}, "", old)
    _flatten(after, "", new)
    changes = []
    for path in sorted(set(old) | set(new)):
        if old.get(path, _ABSENT) != new.get(path, _ABSENT):
            changes.append({"path": path, "before": old.get(path), "after": new.get(path)})
    return changes


_ABSENT = object()
