"""Everything a case file shows, read from the database once (the PDF and its JSON come from this)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from approvals.models import ApprovalRequest, Decision
from approvals.verification import decision_verify
from audit.models import AuditEvent
from incidents.models import Incident, IncidentKey, RewrapProgress, Signal
from incidents.services.detection import DetectorRecord, detection_config_at
from keyvault.models import DecryptGrant, EncryptionException, KeyVersion, ManagedKey

# Key-use events the gate writes (one per use, or one per batch with a count).
USE_ACTIONS = (
    "key.decrypt",
    "key.decrypt_batch",
    "key.rewrap_decrypt",
    "key.rewrap_decrypt_batch",
    "key.encrypt_under_exception",
    "key.encrypt_under_exception_batch",
)
STATE_ACTIONS = (
    "key.created",
    "key.active",
    "key.suspended",
    "key.compromised",
    "key.deactivated",
    "key.destroyed",
    "key.destroyed_compromised",
    "key.restricted",
    "key.restriction_drift",
    "key.replaced",
    "key.retired",
    "key.rotated",
)
TIMELINE_ACTIONS = (
    "signal.received",
    "incident.opened",
    "incident.step",
    "incident.severity_changed",
    "incident.aware_at_recorded",
    "incident.attention",
    "incident.note",
    "incident.closed",
    "incident.notify_hook",
    "notification.approved",
    "notification.acknowledged",
    "notification.escalated",
    "incident.regulatory_hook",
    "approval.requested",
    "approval.decided",
    "approval.approved",
    "approval.rejected",
    "approval.expired",
    "approval.cancelled",
    "key.encryption_exception_granted",
    "key.decrypt_grant_created",
    "audit.exported",
)
TIMELINE_LIMIT = 400


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: str
    alias: str
    purpose: str
    backend: str
    state: str
    via: str
    ai_category: str
    fingerprints: list[str]
    restricted_at: datetime | None
    replacement: str
    history: list[AuditEvent]
    retired: str = ""  # the reason, when retired without a replacement


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    approver: str
    role: str
    verdict: str
    reason: str
    decided_at: datetime
    method: str
    document_hash: str
    credential: str
    verified: bool
    checks: list[tuple[str, bool, str]]
    evidence: dict[str, Any]
    document: dict[str, Any]
    statement: str = ""  # what was verified, how and when (a signature re-verified, or a code checked then)
    reverified: bool = False  # the step-up was verified again at export (a WebAuthn signature)
    enrolments: list[str] = field(default_factory=list)  # the approver's factor changes near the decision


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    id: str
    action: str
    status: str
    policy_version: int
    requirements: list[dict[str, Any]]
    requested_by: str
    requested_at: datetime
    closed_at: datetime | None
    reason: str
    payload: dict[str, Any]
    payload_hash: str
    decisions: list[DecisionRecord]


@dataclass(frozen=True, slots=True)
class UseRecord:
    seq: int
    at: datetime
    actor: str
    key_alias: str
    action: str
    count: int
    justification: str
    affected_system: str
    purpose: str
    state: str
    incident: str


@dataclass(slots=True)
class Section:
    """A part another app contributes (notifications, obligations): rows and JSON evidence."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    evidence: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    text: str = ""  # a pre-formatted block (the procedure in force, as an appendix)


SectionProvider = Callable[[Incident], Section | None]
_PROVIDERS: dict[str, SectionProvider] = {}


def section_provider_register(slot: str, provider: SectionProvider) -> None:
    """Apps register what they add to a case file (``notifications``, ``obligations``, ``review``…); a
    slot named ``appendix:…`` is laid out after the audit events."""
    _PROVIDERS[slot] = provider


@dataclass(slots=True)
class CaseData:
    incident: Incident
    generated_at: datetime
    generated_by: str
    keys: list[KeyRecord]
    approvals: list[ApprovalRecord]
    uses: list[UseRecord]
    exceptions: list[EncryptionException]
    grants: list[DecryptGrant]
    signals: list[Signal]
    rewraps: list[RewrapProgress]
    timeline: list[AuditEvent]
    timeline_total: int
    event_count: int
    sections: dict[str, Section | None]
    detection: list[DetectorRecord] = field(default_factory=list)  # webhook sources when it opened

    @property
    def root_keys(self) -> list[KeyRecord]:
        return [k for k in self.keys if k.via != IncidentKey.Via.CASCADE]


def _keys(incident: Incident) -> list[KeyRecord]:
    links = list(
        IncidentKey.objects.filter(incident=incident).select_related("key", "key__replaced_by").order_by("added_at")
    )
    ids = [link.key_id for link in links]
    fingerprints: dict[Any, list[str]] = {}
    for key_id, fingerprint in (
        KeyVersion.objects.filter(key_id__in=ids).order_by("version").values_list("key_id", "fingerprint")
    ):
        fingerprints.setdefault(key_id, []).append(fingerprint)
    history: dict[str, list[AuditEvent]] = {}
    events = AuditEvent.objects.filter(
        subject_type="key", subject_id__in=[str(i) for i in ids], action__in=STATE_ACTIONS
    )
    for event in events.order_by("seq"):
        history.setdefault(event.subject_id, []).append(event)
    records = []
    for link in links:
        key: ManagedKey = link.key
        records.append(
            KeyRecord(
                id=str(key.id),
                alias=key.alias,
                purpose=key.purpose,
                backend=key.backend,
                state=key.state,
                via=link.via,
                ai_category=key.ai_category,
                fingerprints=fingerprints.get(key.id, []),
                restricted_at=key.restricted_at,
                replacement=key.replaced_by.alias if key.replaced_by else "",
                history=history.get(str(key.id), []),
                retired=key.retired_reason if key.retired_at else "",
            )
        )
    return records


FACTOR_ACTIONS = {
    "stepup.webauthn_registered": "WebAuthn authenticator enrolled",
    "stepup.totp_registered": "TOTP enrolled",
    "stepup.factors_revoked": "factors revoked (recovery)",
}
ENROLMENT_WINDOW = timedelta(days=7)  # a factor enrolled this long before a decision is shown beside it


def _enrolments(decision: Decision) -> list[str]:
    """The approver's factor (re-)enrolments from a week before the decision to a day after it: a factor
    enrolled just before a decision is what a reviewer of that decision wants to see."""
    events = AuditEvent.objects.filter(
        action__in=list(FACTOR_ACTIONS),
        subject_type="user",
        subject_id=decision.approver.get_username(),
        occurred_at__gte=decision.decided_at - ENROLMENT_WINDOW,
        occurred_at__lte=decision.decided_at + timedelta(days=1),
    ).order_by("seq")
    shown = []
    for event in events[:10]:
        what = FACTOR_ACTIONS[event.action]
        if event.action == "stepup.totp_registered" and event.data.get("replaced"):
            what = "TOTP re-enrolled (replaced)"
        gap = decision.decided_at - event.occurred_at
        when = f"{_duration(gap)} before the decision" if gap.total_seconds() >= 0 else f"{_duration(-gap)} after it"
        shown.append(f"{what} {event.occurred_at:%Y-%m-%d %H:%M:%S} UTC (#{event.seq}, {when})")
    return shown


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def _decision(decision: Decision) -> DecisionRecord:
    check = decision_verify(decision)
    return DecisionRecord(
        approver=decision.approver.get_username(),
        role=decision.role,
        verdict=decision.verdict,
        reason=decision.reason,
        decided_at=decision.decided_at,
        method=decision.method,
        document_hash=decision.document_hash,
        credential=str(decision.evidence.get("credential_id", ""))[:24],
        verified=check.ok,
        checks=check.checks,
        evidence=decision.evidence,
        document=decision.document,
        statement=check.statement,
        reverified=check.reverified,
        enrolments=_enrolments(decision),
    )


def _approvals(incident: Incident) -> list[ApprovalRecord]:
    requests = (
        ApprovalRequest.objects.filter(incident=incident.reference)
        .select_related("policy", "requested_by")
        .prefetch_related("decisions__approver", "decisions__credential", "decisions__request")
        .order_by("requested_at")
    )
    return [
        ApprovalRecord(
            id=str(r.id),
            action=r.action,
            status=r.status,
            policy_version=r.policy.version,
            requirements=list(r.policy.requirements),
            requested_by=r.requested_by.get_username(),
            requested_at=r.requested_at,
            closed_at=r.closed_at,
            reason=r.reason,
            payload=r.payload,
            payload_hash=r.payload_hash,
            decisions=[_decision(d) for d in sorted(r.decisions.all(), key=lambda d: d.decided_at)],
        )
        for r in requests
    ]


def _uses(incident: Incident, aliases: dict[str, str]) -> list[UseRecord]:
    """Every use of the case's keys (values, not model instances: a case can hold 100,000 of them)."""
    events = AuditEvent.objects.filter(action__in=USE_ACTIONS, subject_id__in=list(aliases)).order_by("seq")
    fields = ("seq", "occurred_at", "actor", "subject_id", "action", "data", "reason", "affected_system", "incident")
    return [
        UseRecord(
            seq=seq,
            at=at,
            actor=actor,
            key_alias=aliases.get(subject_id, subject_id),
            action=action.removeprefix("key.").removesuffix("_batch"),
            count=int(data.get("count", 1)),
            justification=reason,
            affected_system=system,
            purpose=str(data.get("purpose", "")),
            state=str(data.get("state", "")),
            incident=incident_ref,
        )
        for seq, at, actor, subject_id, action, data, reason, system, incident_ref in events.values_list(
            *fields
        ).iterator(chunk_size=5000)
    ]


def case_data(incident: Incident, *, generated_by: str, now: datetime) -> CaseData:
    keys = _keys(incident)
    aliases = {k.id: k.alias for k in keys}
    timeline_events = AuditEvent.objects.filter(incident=incident.reference, action__in=TIMELINE_ACTIONS)
    return CaseData(
        incident=incident,
        generated_at=now,
        generated_by=generated_by,
        keys=keys,
        approvals=_approvals(incident),
        uses=_uses(incident, aliases),
        exceptions=list(EncryptionException.objects.filter(key_id__in=list(aliases)).order_by("created_at")),
        grants=list(DecryptGrant.objects.filter(key_id__in=list(aliases)).order_by("created_at")),
        signals=list(incident.signals.order_by("received_at")),
        rewraps=list(incident.rewraps.select_related("key", "replacement").order_by("started_at")),
        timeline=list(timeline_events.order_by("seq")[:TIMELINE_LIMIT]),
        timeline_total=timeline_events.count(),
        event_count=0,
        sections={slot: provider(incident) for slot, provider in _PROVIDERS.items()},
        detection=detection_config_at(incident.opened_at),
    )
