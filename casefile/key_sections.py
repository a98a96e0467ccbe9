"""Case file sections from key custody: the refused uses of the case's keys, and the new key hierarchy."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from audit.models import AuditEvent
from casefile.gather import Section
from incidents.models import Incident
from keyvault.models import ManagedKey
from keyvault.refusals import ACTION as REFUSED
from keyvault.states import QUARANTINED, KeyState

ROWS_SHOWN = 200


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC" if at else "—"


def _incident_keys(incident: Incident) -> list[ManagedKey]:
    return list(
        ManagedKey.objects.filter(incident_links__incident=incident)
        .select_related("parent", "replaced_by", "replaced_by__parent")
        .order_by("alias", "id")
        .distinct()
    )


def refused_uses_section(incident: Incident) -> Section | None:
    """Every refused use of the case's keys since the incident opened, one row per principal, operation
    and reason (the trail holds one event per minute of each, with its count)."""
    keys = {str(k.id): k.alias for k in _incident_keys(incident)}
    events = AuditEvent.objects.filter(action=REFUSED, subject_id__in=list(keys), occurred_at__gte=incident.opened_at)
    if incident.closed_at:
        events = events.filter(occurred_at__lte=incident.closed_at)
    groups: dict[tuple[str, str, str, str], dict[str, Any]] = defaultdict(
        lambda: {"attempts": 0, "items": 0, "events": [], "first": None, "last": None, "answered": set()}
    )
    for event in events.order_by("seq").iterator():
        data = event.data
        group = groups[(event.subject_id, event.actor, str(data.get("operation")), str(data.get("refusal")))]
        group["attempts"] += int(data.get("count", 0))
        group["items"] += int(data.get("items", 0))
        group["events"].append(event.seq)
        group["answered"].add(str(data.get("answered", "")))
        group["first"] = group["first"] or event.occurred_at
        group["last"] = event.occurred_at
    if not groups:
        return None
    ordered = sorted(groups.items(), key=lambda item: (-item[1]["attempts"], item[0]))
    rows = [
        [
            keys.get(key, key),
            actor,
            operation,
            refusal,
            ", ".join(sorted(g["answered"])),
            str(g["attempts"]),
            str(g["items"]),
            _when(g["first"]),
            _when(g["last"]),
        ]
        for (key, actor, operation, refusal), g in ordered[:ROWS_SHOWN]
    ]
    evidence = [
        {
            "key": key,
            "principal": actor,
            "operation": operation,
            "refusal": refusal,
            "answered": sorted(g["answered"]),
            "attempts": g["attempts"],
            "items": g["items"],
            "events": g["events"],
        }
        for (key, actor, operation, refusal), g in ordered
    ]
    total = sum(g["attempts"] for g in groups.values())
    note = (
        f"{total} refused attempt(s) on this case's keys, from {len({a for _, a, _, _ in groups})} principal(s). "
        "Each is on the audit trail: the first of each principal, operation and reason in a minute as its own "
        "event, the rest of that minute as one event with the count. 'segregated' means the caller, outside "
        "incident response, was told the key does not exist."
    )
    if len(ordered) > ROWS_SHOWN:
        note += f" The {ROWS_SHOWN} largest of {len(ordered)} groups are shown; the JSON evidence lists them all."
    return Section(
        "Refused uses",
        ["key", "principal", "operation", "refused because", "answered", "attempts", "items", "first", "last"],
        rows,
        evidence,
        note,
    )


def _wrapper(key: ManagedKey | None) -> str:
    return f"{key.alias} ({str(key.id)[:8]}, {key.state.replace('_', ' ')})" if key else "— (top)"


def key_hierarchy_section(incident: Incident) -> Section | None:
    """The hierarchy after the response: which key replaced which, and which key wraps each replacement
    (never a suspended or compromised one)."""
    rows, evidence, tainted = [], [], 0
    for key in _incident_keys(incident):
        replacement = key.replaced_by
        if replacement is None:
            continue
        wrapper = replacement.parent
        unsafe = wrapper is not None and KeyState(wrapper.state) in QUARANTINED
        tainted += unsafe
        rows.append(
            [
                key.alias,
                key.state.replace("_", " "),
                key.parent.alias if key.parent else "— (top)",
                f"{replacement.alias} ({str(replacement.id)[:8]})",
                replacement.state.replace("_", " "),
                (
                    f"{wrapper.alias} ({str(wrapper.id)[:8]}, {wrapper.state.replace('_', ' ')})"
                    if wrapper
                    else "— (top)"
                )
                + (" — QUARANTINED" if unsafe else ""),
            ]
        )
        evidence.append(
            {
                "key": str(key.id),
                "state": key.state,
                "parent": str(key.parent_id or ""),
                "replacement": str(replacement.id),
                "replacement_state": replacement.state,
                "replacement_parent": str(replacement.parent_id or ""),
                "replacement_parent_state": wrapper.state if wrapper else "",
            }
        )
    if not rows:
        return None
    note = (
        "Each replacement is wrapped by its old KEK's replacement, or by a healthy (active) KEK: never by a "
        "suspended or compromised key."
        if not tainted
        else f"{tainted} replacement(s) wrapped by a quarantined key: see the rows marked QUARANTINED."
    )
    return Section(
        "New key hierarchy",
        ["key", "state", "was wrapped by", "replaced by", "replacement state", "replacement wrapped by"],
        rows,
        evidence,
        note,
    )
