"""``/metrics``: the control's figures in the Prometheus text format (prometheus-client), computed at
scrape time from what was recorded (never a counter kept in one process's memory, so every web process
answers the same). Exercises carry ``exercise="true"``: drills never mix with real incidents."""

from __future__ import annotations

import hmac
import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.conf import settings
from django.db.models import Min
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from approvals.models import ApprovalRequest
from audit.models import AuditEvent
from evaluation.models import Drill
from evaluation.services import metrics
from evaluation.services.playbook import playbook_status
from incidents.models import Incident, IncidentKey, Signal
from notifications.models import Notification
from regulatory.models import Obligation

BUCKETS = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 8 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400)


def _histogram(name: str, doc: str, labels: list[str], series: dict[tuple[str, ...], list[float]]) -> Metric:
    family = HistogramMetricFamily(name, doc, labels=labels)
    for label_values, values in sorted(series.items()):
        buckets = [(str(float(b)), float(sum(1 for v in values if v <= b))) for b in BUCKETS]
        buckets.append(("+Inf", float(len(values))))
        family.add_metric(list(label_values), buckets, sum_value=float(sum(values)))
    return family


def _flag(value: bool) -> str:
    return "true" if value else "false"


class ControlCollector(Collector):
    """Every figure from the database, at each scrape."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        incidents = {i.reference: i for i in Incident.objects.only("reference", "severity", "exercise", "opened_at")}
        yield from self._contain(incidents)
        yield from self._restrict(incidents)
        yield from self._decisions(incidents)
        yield from self._acknowledgements(incidents)
        yield from self._counts(incidents, now)

    def _contain(self, incidents: dict[str, Incident]) -> Iterable[Metric]:
        received = dict(
            Signal.objects.values("incident__reference")
            .annotate(t=Min("received_at"))
            .values_list("incident__reference", "t")
        )
        suspended = dict(
            AuditEvent.objects.filter(action="key.suspended")
            .exclude(incident="")
            .values("incident")
            .annotate(t=Min("occurred_at"))
            .values_list("incident", "t")
        )
        series: dict[tuple[str, ...], list[float]] = defaultdict(list)
        for reference, start in received.items():
            end, incident = suspended.get(reference), incidents.get(reference)
            if end is not None and incident is not None:
                series[(incident.severity, _flag(incident.exercise))].append(max(0.0, (end - start).total_seconds()))
        yield _histogram(
            "sequester_incident_time_to_contain_seconds",
            "Signal received to the incident's keys suspended, from the signals and the audit trail.",
            ["severity", "exercise"],
            series,
        )

    def _restrict(self, incidents: dict[str, Incident]) -> Iterable[Metric]:
        keys: dict[str, set[str]] = defaultdict(set)
        for reference, key_id in IncidentKey.objects.values_list("incident__reference", "key_id"):
            keys[reference].add(str(key_id))
        first: dict[str, datetime] = {}
        for subject_id, at in (
            AuditEvent.objects.filter(action="key.restricted", subject_type="key")
            .values("subject_id")
            .annotate(t=Min("occurred_at"))
            .values_list("subject_id", "t")
        ):
            first[str(subject_id)] = at
        series: dict[tuple[str, ...], list[float]] = defaultdict(list)
        for reference, ids in keys.items():
            incident = incidents.get(reference)
            times = [first[k] for k in ids if k in first and first[k] >= incident.opened_at] if incident else []
            if incident is not None and times and len(times) == len(ids):
                seconds = (max(times) - incident.opened_at).total_seconds()
                series[(incident.severity, _flag(incident.exercise))].append(max(0.0, seconds))
        yield _histogram(
            "sequester_incident_time_to_restrict_seconds",
            "Incident opened to every one of its keys verified decrypt-only on its backend.",
            ["severity", "exercise"],
            series,
        )

    def _decisions(self, incidents: dict[str, Incident]) -> Iterable[Metric]:
        series: dict[tuple[str, ...], list[float]] = defaultdict(list)
        for action, incident, opened, closed in ApprovalRequest.objects.filter(
            status__in=["approved", "rejected"], closed_at__isnull=False
        ).values_list("action", "incident", "requested_at", "closed_at"):
            exercise = incidents[incident].exercise if incident in incidents else False
            if closed is not None:
                series[(action, _flag(exercise))].append(max(0.0, (closed - opened).total_seconds()))
        yield _histogram(
            "sequester_approval_decision_seconds",
            "Approval requested to decided (approved or rejected), per action.",
            ["action", "exercise"],
            series,
        )

    def _acknowledgements(self, incidents: dict[str, Incident]) -> Iterable[Metric]:
        series: dict[tuple[str, ...], list[float]] = defaultdict(list)
        for reference, sent, acked in Notification.objects.filter(
            sent_at__isnull=False, acked_at__isnull=False
        ).values_list("incident__reference", "sent_at", "acked_at"):
            incident = incidents.get(reference)
            if incident is not None and sent is not None and acked is not None:
                seconds = max(0.0, (acked - sent).total_seconds())
                series[(incident.severity, _flag(incident.exercise))].append(seconds)
        yield _histogram(
            "sequester_notification_ack_seconds",
            "Notification sent to acknowledged by the party.",
            ["severity", "exercise"],
            series,
        )

    def _counts(self, incidents: dict[str, Incident], now: datetime) -> Iterable[Metric]:
        refusals = CounterMetricFamily(
            "sequester_gate_refusals",
            "Uses of suspended or compromised keys the gate refused, as recorded on the audit trail.",
        )
        refusals.add_metric([], float(metrics.refused_count(AuditEvent.objects.all())))
        yield refusals
        overdue = GaugeMetricFamily(
            "sequester_obligations_overdue",
            "Required regulatory obligations past their due time without a filing.",
            labels=["exercise"],
        )
        late = Obligation.objects.filter(status="required", filings__isnull=True, due_at__lt=now)
        for flag in (False, True):
            overdue.add_metric([_flag(flag)], float(late.filter(incident__exercise=flag).count()))
        yield overdue
        open_incidents = GaugeMetricFamily(
            "sequester_incidents_open", "Open incidents.", labels=["severity", "exercise"]
        )
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for severity, exercise in Incident.objects.filter(status=Incident.Status.OPEN).values_list(
            "severity", "exercise"
        ):
            counts[(severity, _flag(exercise))] += 1
        for labels, count in sorted(counts.items()):
            open_incidents.add_metric(list(labels), float(count))
        yield open_incidents
        missed = GaugeMetricFamily(
            "sequester_open_incident_targets_missed",
            "Response-time targets missed (or already late) on open incidents, per measure.",
            labels=["measure", "exercise"],
        )
        tally: dict[tuple[str, str], int] = defaultdict(int)
        for incident in Incident.objects.filter(status=Incident.Status.OPEN):
            for figure in metrics.incident_metrics(incident, now=now).missed:
                tally[(figure.measure, _flag(incident.exercise))] += 1
        for labels, count in sorted(tally.items()):
            missed.add_metric(list(labels), float(count))
        yield missed
        drills = CounterMetricFamily("sequester_drills", "Drills started (exercises of the real playbook).")
        drills.add_metric([], float(Drill.objects.count()))
        yield drills
        status = playbook_status()
        review = GaugeMetricFamily(
            "sequester_playbook_review_overdue", "1 when the playbook in force is past its review date (or none is)."
        )
        review.add_metric([], 1.0 if (status.overdue or status.in_force is None) else 0.0)
        yield review


def _allowed(request: HttpRequest) -> bool:
    token = settings.SEQUESTER_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), token.encode())
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(n, strict=False) for n in settings.SEQUESTER_METRICS_NETWORKS)


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """With ``SEQUESTER_METRICS_TOKEN`` set, a scraper sends it as a bearer token; without one, only the
    addresses of ``SEQUESTER_METRICS_NETWORKS`` (loopback by default) may scrape."""
    if not _allowed(request):
        return HttpResponse("metrics: not allowed from here (see SEQUESTER_METRICS_TOKEN)\n", status=403)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ControlCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
