"""What still stands open before an incident may close, and the waivers that let it close anyway.

Each check names open items (a review not signed off, a party that has not acknowledged, an obligation
not filed, a sign-off still pending, a rewrap not finished). Apps register their own check in
``AppConfig.ready()`` (``closure_check_register``): this module never imports them. Closing is refused
while an open item is neither done nor waived; a waiver is a reason per check, recorded in the
commander's closure request and carried inside the ``close_incident`` approval, which the approvers
sign. After the approval the same rule is applied again against what they signed: an item that opened
since (and so was not shown to them) blocks the closure until it is done or a new request waives it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from approvals import policies
from approvals.models import ApprovalRequest
from incidents.errors import ClosureBlocked
from incidents.models import Incident, RewrapProgress

WAIVER_MIN_CHARS = 10
# Requests the closure itself opens: not items standing in its way.
_CLOSING_ACTIONS = (policies.CLOSE_INCIDENT, policies.KEY_DESTRUCTION)


@dataclass(frozen=True, slots=True)
class OpenItem:
    check: str  # the registered check's name: what a waiver names
    item: str  # stable id of the item within the incident
    title: str
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


ClosureCheck = Callable[[Incident], list[OpenItem]]


@dataclass(frozen=True, slots=True)
class _Registered:
    name: str
    title: str
    check: ClosureCheck


_CHECKS: dict[str, _Registered] = {}


def closure_check_register(name: str, title: str, check: ClosureCheck) -> None:
    """Add a check closure runs (``review``, ``acknowledgements``, ``obligations``…); idempotent by name."""
    _CHECKS[name] = _Registered(name, title, check)


def closure_checks() -> list[tuple[str, str]]:
    """(name, title) of every check, in registration order."""
    return [(c.name, c.title) for c in _CHECKS.values()]


def closure_open_items(incident: Incident) -> list[OpenItem]:
    items: list[OpenItem] = []
    for registered in _CHECKS.values():
        items.extend(registered.check(incident))
    return items


def closure_by_check(incident: Incident) -> list[dict[str, Any]]:
    """The open items grouped by check, for the close form (one waiver field per check)."""
    items = closure_open_items(incident)
    return [
        {"check": name, "title": title, "items": [i for i in items if i.check == name]}
        for name, title in closure_checks()
        if any(i.check == name for i in items)
    ]


def _clean_waivers(waivers: Mapping[str, Any] | None) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for check, reason in (waivers or {}).items():
        text = " ".join(str(reason or "").split())
        if text:
            cleaned[str(check)] = text[:2000]
    return cleaned


def closure_unwaived(
    items: list[OpenItem], waivers: Mapping[str, str], *, shown: set[str] | None = None
) -> list[OpenItem]:
    """The items that block closing: not waived by check, or (with ``shown``) not among the items the
    approvers were shown when they signed the waiver."""
    return [
        item
        for item in items
        if item.check not in waivers or (shown is not None and f"{item.check}:{item.item}" not in shown)
    ]


def closure_validate_waivers(incident: Incident, waivers: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check a closure request: every open item is waived with a reason. Returns what the request records
    (the open items and the waivers that apply to them); raises ``ClosureBlocked`` otherwise."""
    cleaned = _clean_waivers(waivers)
    known = {name for name, _ in closure_checks()}
    unknown = sorted(set(cleaned) - known)
    if unknown:
        raise ClosureBlocked(f"no closure check named {', '.join(unknown)}", open_items=[], unknown_checks=unknown)
    short = sorted(check for check, reason in cleaned.items() if len(reason) < WAIVER_MIN_CHARS)
    if short:
        raise ClosureBlocked(
            f"a waiver states its reason (at least {WAIVER_MIN_CHARS} characters): {', '.join(short)}",
            open_items=[],
        )
    items = closure_open_items(incident)
    blocking = closure_unwaived(items, cleaned)
    if blocking:
        raise ClosureBlocked(
            f"{len(blocking)} open item(s) are neither done nor waived: "
            + "; ".join(f"{i.title}" for i in blocking[:10]),
            open_items=[i.as_dict() for i in blocking],
        )
    used = {item.check for item in items}
    return {
        "open_items": [i.as_dict() for i in items],
        "waivers": {check: reason for check, reason in cleaned.items() if check in used},
    }


def closure_approved_request(incident: Incident) -> ApprovalRequest | None:
    return (
        ApprovalRequest.objects.filter(
            incident=incident.reference, action=policies.CLOSE_INCIDENT, status=ApprovalRequest.Status.APPROVED
        )
        .order_by("-closed_at")
        .first()
    )


def closure_signed_waivers(request: ApprovalRequest | None) -> tuple[dict[str, str], set[str]]:
    """The waivers and the open items inside an approved close_incident request (what its approvers signed)."""
    if request is None:
        return {}, set()
    details = request.payload.get("details", {})
    waivers = {str(k): str(v) for k, v in dict(details.get("waivers") or {}).items()}
    shown = {f"{i.get('check')}:{i.get('item')}" for i in details.get("open_items") or []}
    return waivers, shown


def closure_blockers(incident: Incident, *, approved: bool) -> list[OpenItem]:
    """Before the approval: what the commander's request leaves unwaived; after it: what the approvers'
    signed waivers leave uncovered (an item that opened since included)."""
    items = closure_open_items(incident)
    if not approved:
        request = incident.closure_request or {}
        return closure_unwaived(items, dict(request.get("waivers") or {}))
    waivers, shown = closure_signed_waivers(closure_approved_request(incident))
    return closure_unwaived(items, waivers, shown=shown)


# --- the checks incidents itself knows ------------------------------------------------------------
def _rewrap_check(incident: Incident) -> list[OpenItem]:
    return [
        OpenItem(
            "rewrap",
            str(progress.key_id),
            f"rewrap of {progress.key.alias} incomplete",
            f"{progress.done} of {progress.total} item(s) re-encrypted under the replacement",
        )
        for progress in RewrapProgress.objects.filter(incident=incident).select_related("key").order_by("started_at")
        if progress.finished_at is None or progress.done < progress.total
    ]


def _pending_approvals_check(incident: Incident) -> list[OpenItem]:
    pending = ApprovalRequest.objects.filter(
        incident=incident.reference, status=ApprovalRequest.Status.PENDING
    ).exclude(action__in=_CLOSING_ACTIONS)
    return [
        OpenItem(
            "signoffs",
            str(request.id),
            f"{request.action} pending",
            f"asked {request.requested_at:%Y-%m-%d %H:%M} UTC: {request.reason[:200]}",
        )
        for request in pending.order_by("requested_at")
    ]


closure_check_register("rewrap", "Rewrap complete", _rewrap_check)
closure_check_register("signoffs", "Sign-offs and approvals decided", _pending_approvals_check)
