"""Response times and counts of an incident, read from what was recorded — audit events and the
timestamps services wrote (signals received, approvals closed, notifications sent and acknowledged,
rewraps finished) — never typed in. Each time is set against the target for the incident's severity;
a time still running past its target is already missed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import IntegerField, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce

from approvals import policies
from approvals.models import ApprovalRequest
from audit.models import AuditEvent
from evaluation.models import Measure
from evaluation.services.targets import duration_text, targets_table
from incidents.models import Incident, IncidentKey, RewrapProgress
from keyvault.models import DecryptGrant, EncryptionException
from notifications.models import Notification
from regulatory.models import Filing, Obligation

MET, MISSED, PENDING, NOT_APPLICABLE = "met", "missed", "pending", "n/a"
# Refused uses of the key gate, as the audit trail records them (one event per key, principal, reason
# and minute, with a count: see issue 11). Any key event whose action names a refusal is counted.
REFUSED = Q(subject_type="key") & Q(action__contains="refused")


def refused_count(events: Any) -> int:
    """Sum of the refusals in ``events`` (an aggregated event carries ``data.count``; a plain one is 1)."""
    total = events.filter(REFUSED).aggregate(n=Sum(Coalesce(Cast(KT("data__count"), IntegerField()), 1)))["n"]
    return int(total or 0)


@dataclass(frozen=True, slots=True)
class Figure:
    measure: str
    subject: str  # "" for the incident as a whole; a party, an approval action
    seconds: float | None
    target: int | None
    status: str
    evidence: str = ""

    @property
    def label(self) -> str:
        return Measure(self.measure).label

    @property
    def duration(self) -> str:
        return duration_text(self.seconds)

    @property
    def target_text(self) -> str:
        return duration_text(self.target) if self.target is not None else "—"


@dataclass(slots=True)
class IncidentMetrics:
    incident: Incident
    figures: list[Figure]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def missed(self) -> list[Figure]:
        return [f for f in self.figures if f.status == MISSED]

    def as_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident.reference,
            "severity": self.incident.severity,
            "exercise": self.incident.exercise,
            "figures": [
                {
                    "measure": f.measure,
                    "subject": f.subject,
                    "seconds": f.seconds,
                    "target_seconds": f.target,
                    "status": f.status,
                    "evidence": f.evidence,
                }
                for f in self.figures
            ],
            "counts": self.counts,
            "missed": len(self.missed),
        }


def _figure(
    measure: str,
    start: datetime | None,
    end: datetime | None,
    *,
    now: datetime,
    targets: dict[tuple[str, str], int],
    severity: str,
    subject: str = "",
    evidence: str = "",
    running: bool = True,
) -> Figure:
    """``running``: False when the measure will never end (the incident closed without that step)."""
    target = targets.get((measure, severity))
    if start is None:
        return Figure(measure, subject, None, target, NOT_APPLICABLE, evidence)
    if end is None:
        if not running:
            return Figure(measure, subject, None, target, NOT_APPLICABLE, evidence)
        elapsed = (now - start).total_seconds()
        late = target is not None and elapsed > target
        return Figure(measure, subject, None, target, MISSED if late else PENDING, evidence)
    seconds = max(0.0, (end - start).total_seconds())
    status = MET if target is None or seconds <= target else MISSED
    return Figure(measure, subject, seconds, target, status, evidence)


def _first_event(reference: str, action: str, **data: str) -> AuditEvent | None:
    events = AuditEvent.objects.filter(incident=reference, action=action)
    for name, value in data.items():
        events = events.filter(**{f"data__{name}": value})
    return events.order_by("seq").first()


def incident_metrics(incident: Incident, *, now: datetime) -> IncidentMetrics:
    targets = targets_table()
    severity, reference, opened = incident.severity, incident.reference, incident.opened_at
    closed = incident.status == Incident.Status.CLOSED
    figures: list[Figure] = []
    kw: dict[str, Any] = {"now": now, "targets": targets, "severity": severity}

    first_signal = incident.signals.order_by("received_at").first()
    suspended = _first_event(reference, "key.suspended")
    figures.append(
        _figure(
            Measure.CONTAIN,
            first_signal.received_at if first_signal else None,
            suspended.occurred_at if suspended else None,
            evidence=f"signal {first_signal.source}#{first_signal.event_id}; event #{suspended.seq}"
            if first_signal and suspended
            else "",
            running=not closed,
            **kw,
        )
    )
    confirm = (
        ApprovalRequest.objects.filter(incident=reference, action=policies.CONFIRM_COMPROMISE)
        .exclude(status__in=[ApprovalRequest.Status.PENDING, ApprovalRequest.Status.EXPIRED])
        .order_by("closed_at")
        .first()
    )
    figures.append(
        _figure(
            Measure.CONFIRM,
            opened,
            confirm.closed_at if confirm else None,
            evidence=f"{confirm.action} {confirm.status} ({confirm.id})" if confirm else "",
            running=not closed,
            **kw,
        )
    )
    compromise = incident.resolution != Incident.Resolution.FALSE_POSITIVE
    key_ids = [str(k) for k in IncidentKey.objects.filter(incident=incident).values_list("key_id", flat=True)]
    restricted = AuditEvent.objects.filter(subject_type="key", subject_id__in=key_ids, action="key.restricted")
    last_by_key: dict[str, AuditEvent] = {}
    for event in restricted.filter(occurred_at__gte=opened).order_by("seq"):
        last_by_key.setdefault(event.subject_id, event)  # the first verified restriction of each key
    done = key_ids and len(last_by_key) == len(set(key_ids))
    last = max(last_by_key.values(), key=lambda e: e.seq) if done else None
    figures.append(
        _figure(
            Measure.RESTRICT,
            opened if compromise else None,
            last.occurred_at if last else None,
            evidence=f"{len(last_by_key)} of {len(set(key_ids))} key(s) verified; last event #{last.seq}"
            if last
            else f"{len(last_by_key)} of {len(set(key_ids))} key(s) verified",
            running=not closed,
            **kw,
        )
    )
    rewraps = list(RewrapProgress.objects.filter(incident=incident))
    finished = [r.finished_at for r in rewraps if r.finished_at is not None]
    all_done = bool(rewraps) and len(finished) == len(rewraps)
    figures.append(
        _figure(
            Measure.REWRAP,
            opened if compromise and (rewraps or not closed) else None,
            max(finished) if all_done else None,
            evidence=f"{sum(r.done for r in rewraps)} of {sum(r.total for r in rewraps)} item(s)",
            running=not closed and compromise,
            **kw,
        )
    )
    for n in Notification.objects.filter(incident=incident).select_related("party").order_by("party__name"):
        figures.append(_figure(Measure.NOTIFY, opened, n.sent_at, subject=n.party.name, running=not closed, **kw))
        figures.append(
            _figure(
                Measure.ACKNOWLEDGE,
                n.sent_at,
                n.acked_at,
                subject=n.party.name,
                evidence=f"acknowledged by {n.acked_by}" if n.acked_at else n.get_status_display(),
                running=n.status not in (Notification.Status.CANCELLED,),
                **kw,
            )
        )
    for request in ApprovalRequest.objects.filter(incident=reference).order_by("requested_at"):
        decided = request.closed_at if request.status in ("approved", "rejected") else None
        figures.append(
            _figure(
                Measure.DECIDE,
                request.requested_at,
                decided,
                subject=request.action,
                evidence=f"{request.status} ({request.id})",
                running=request.status == ApprovalRequest.Status.PENDING,
                **kw,
            )
        )
    return IncidentMetrics(incident, figures, incident_counts(incident, key_ids=key_ids, now=now))


def incident_counts(incident: Incident, *, key_ids: list[str], now: datetime) -> dict[str, int]:
    filings = Filing.objects.filter(obligation__incident=incident)
    on_time = sum(1 for f in filings if f.due_at is None or f.filed_at <= f.due_at)
    overdue = Obligation.objects.filter(
        incident=incident, status="required", filings__isnull=True, due_at__lt=now
    ).count()
    exceptions = EncryptionException.objects.filter(key_id__in=key_ids)
    grants = DecryptGrant.objects.filter(key_id__in=key_ids)
    return {
        "obligations_filed_on_time": on_time,
        "obligations_filed_late": filings.count() - on_time,
        "obligations_overdue": overdue,
        "encryption_exceptions": exceptions.count(),
        "encryptions_under_exception": int(exceptions.aggregate(n=Sum("operations_used"))["n"] or 0),
        "decrypt_grants": grants.count(),
        "decrypts_under_grant": int(grants.aggregate(n=Sum("operations_used"))["n"] or 0),
        "refused_uses": refused_count(AuditEvent.objects.filter(subject_id__in=key_ids)),
    }


def missed_by_measure(metrics: list[IncidentMetrics]) -> Counter[str]:
    return Counter(f.measure for m in metrics for f in m.missed)
