"""A period's evaluation of the control: what happened (incidents, keys, exceptions, grants, refusals,
drills, reviews, the playbook in force), measured against the targets, and the answers — the CAIQ
question in its four parts, the 11 audit guidelines and the 3 CCM checks — each from the evidence of the
period with references to it. An answer never claims more than the period shows: nothing recorded is
"not evidenced", a miss is "partly", never green by default."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from approvals.models import ApprovalRequest, Decision
from audit.models import AuditEvent
from casefile.gather import USE_ACTIONS
from evaluation.models import Drill, PlaybookVersion, ReviewAction, TabletopExercise
from evaluation.services import metrics, reviews
from evaluation.services.drills import drill_scorecard
from incidents.models import Incident, IncidentKey, RewrapProgress
from keyvault.models import DecryptGrant, EncryptionException, ManagedKey
from notifications.models import Notification
from regulatory.models import Filing, Obligation

YES, PARTLY, NO = "yes", "partly", "no"
EVIDENCED, PARTLY_EVIDENCED, NOT_EVIDENCED = "Evidenced", "Partly evidenced", "Not evidenced in the period"
COMPROMISED = ("compromised", "destroyed_compromised")


@dataclass(frozen=True, slots=True)
class Answer:
    id: str
    question: str
    status: str
    answer: str
    references: list[str]

    @property
    def satisfied(self) -> bool:
        return self.status in (YES, EVIDENCED)


def period_bounds(since: date, until: date) -> tuple[datetime, datetime]:
    """[since 00:00 UTC, the day after until 00:00 UTC)."""
    return datetime.combine(since, time.min, UTC), datetime.combine(until + timedelta(days=1), time.min, UTC)


def period_incidents(start: datetime, end: datetime) -> list[Incident]:
    """Every incident open at some moment of the period, closed ones included, oldest first."""
    return list(
        Incident.objects.filter(opened_at__lt=end)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=start))
        .select_related("commander")
        .order_by("opened_at")
    )


@dataclass(slots=True)
class PeriodData:
    since: date
    until: date
    start: datetime
    end: datetime
    generated_at: datetime
    incidents: list[Incident]
    exercises: list[Incident]
    metrics: list[metrics.IncidentMetrics]
    keys: list[ManagedKey]
    key_states: dict[str, int]
    exceptions: list[EncryptionException]
    grants: list[DecryptGrant]
    refused: int
    uses: list[AuditEvent]
    drills: list[tuple[Drill, dict[str, Any]]]
    tabletops: list[TabletopExercise]
    review_states: dict[str, str]
    open_actions: list[ReviewAction]
    playbooks: list[PlaybookVersion]
    playbook_overdue: bool
    obligations: Counter[str]
    notifications: Counter[str]
    decisions: list[Decision]
    first_seq: int
    last_seq: int
    waivers: dict[str, dict[str, str]] = field(default_factory=dict)
    answers: list[Answer] = field(default_factory=list)

    @property
    def missed(self) -> Counter[str]:
        return metrics.missed_by_measure(self.metrics)


def _obligation_states(incidents: list[Incident], now: datetime) -> Counter[str]:
    states: Counter[str] = Counter()
    for obligation in Obligation.objects.filter(incident__in=incidents, status="required").prefetch_related("filings"):
        filing: Filing | None = next(iter(obligation.filings.all()), None)
        if filing is not None:
            late = obligation.due_at is not None and filing.filed_at > (filing.due_at or obligation.due_at)
            states["filed late" if late else "filed on time"] += 1
        elif obligation.due_at is not None and obligation.due_at < now:
            states["overdue"] += 1
        else:
            states["open"] += 1
    return states


def period_data(since: date, until: date, *, now: datetime | None = None) -> PeriodData:
    if until < since:
        from evaluation.errors import ReportInvalid

        raise ReportInvalid("the period ends before it starts")
    now = now or timezone.now()
    start, end = period_bounds(since, until)
    everything = period_incidents(start, end)
    real = [i for i in everything if not i.exercise]
    exercises = [i for i in everything if i.exercise]
    key_ids = list(IncidentKey.objects.filter(incident__in=real).values_list("key_id", flat=True).distinct())
    keys = list(ManagedKey.objects.filter(id__in=key_ids).order_by("alias"))
    in_period = AuditEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
    seqs = in_period.order_by("seq").values_list("seq", flat=True)
    drills = [(d, drill_scorecard(d, now=now)) for d in Drill.objects.filter(started_at__gte=start, started_at__lt=end)]
    playbooks = list(
        PlaybookVersion.objects.filter(published_at__isnull=False, published_at__lt=end)
        .select_related("owner")
        .order_by("published_at")
    )
    # The versions in force during the period: the last published before it, and every one published in it.
    before = [v for v in playbooks if v.published_at is not None and v.published_at < start]
    playbooks = before[-1:] + [v for v in playbooks if v.published_at is not None and v.published_at >= start]
    in_force_at_end = playbooks[-1] if playbooks else None
    review_states = {i.reference: reviews.review_state(reviews.review_of(i)) for i in real}
    waivers: dict[str, dict[str, str]] = {}
    for request in ApprovalRequest.objects.filter(
        incident__in=[i.reference for i in real], action="close_incident", status="approved"
    ):
        found = dict(request.payload.get("details", {}).get("waivers") or {})
        if found:
            waivers[request.incident] = found
    data = PeriodData(
        since=since,
        until=until,
        start=start,
        end=end,
        generated_at=now,
        incidents=real,
        exercises=exercises,
        metrics=[metrics.incident_metrics(i, now=min(now, end) if i.status == "open" else now) for i in real],
        keys=keys,
        key_states=dict(Counter(k.state for k in keys)),
        exceptions=list(
            EncryptionException.objects.filter(created_at__gte=start, created_at__lt=end).select_related("key")
        ),
        grants=list(DecryptGrant.objects.filter(created_at__gte=start, created_at__lt=end).select_related("key")),
        refused=metrics.refused_count(in_period),
        uses=list(in_period.filter(action__in=USE_ACTIONS, subject_id__in=[str(k) for k in key_ids]).order_by("seq")),
        drills=drills,
        tabletops=list(TabletopExercise.objects.filter(held_on__gte=since, held_on__lte=until)),
        review_states=review_states,
        open_actions=list(
            ReviewAction.objects.filter(done_at__isnull=True).select_related("owner", "review__incident")
        ),
        playbooks=playbooks,
        playbook_overdue=bool(
            in_force_at_end and in_force_at_end.review_due_on and in_force_at_end.review_due_on < until
        ),
        obligations=_obligation_states(real, now),
        notifications=Counter(Notification.objects.filter(incident__in=real).values_list("status", flat=True)),
        decisions=list(
            Decision.objects.filter(decided_at__gte=start, decided_at__lt=end).select_related("request", "approver")
        ),
        first_seq=seqs.first() or 0,
        last_seq=seqs.last() or 0,
        waivers=waivers,
    )
    data.answers = period_answers(data)
    return data


# --- the answers -----------------------------------------------------------------------------------
def _refs(incidents: list[Incident], limit: int = 12) -> str:
    shown = ", ".join(i.reference for i in incidents[:limit])
    return shown + (f" and {len(incidents) - limit} more" if len(incidents) > limit else "") or "none"


def _playbook_ref(data: PeriodData) -> str:
    return (
        ", ".join(f"playbook v{v.number} ({v.content_hash[:12]}…)" for v in data.playbooks) or "no playbook published"
    )


def _late_start(data: PeriodData) -> bool:
    first = data.playbooks[0].published_at if data.playbooks else None
    return first is None or first > data.start


def _caiq(data: PeriodData) -> list[Answer]:
    closed = [i for i in data.incidents if i.status == Incident.Status.CLOSED]
    compromised = [i for i in data.incidents if i.resolution == Incident.Resolution.COMPROMISE]
    restricted_late = [
        m.incident
        for m in data.metrics
        if any(f.measure == "restrict" and f.status == metrics.MISSED for f in m.figures)
    ]
    finished_drills = [d for d, card in data.drills if card.get("status") == "finished"]
    # defined
    if not data.playbooks:
        defined = (NO, "No version of the playbook was published (approved) by the end of the period.")
    elif data.playbook_overdue or data.playbooks[0].published_at is None or data.playbooks[0].published_at > data.start:
        defined = (
            PARTLY,
            f"{_playbook_ref(data)} in force"
            + (", but its review was overdue" if data.playbook_overdue else "")
            + (
                ", but none was in force from the start of the period"
                if data.playbooks[0].published_at and data.playbooks[0].published_at > data.start
                else ""
            )
            + ".",
        )
    else:
        defined = (YES, f"{_playbook_ref(data)} in force for the whole period, approved and within its review date.")
    # implemented
    runs = len(closed) + len(finished_drills)
    if runs == 0:
        implemented = (
            PARTLY,
            "The measures are in place (gate, workflow, policies) but no incident closed and no drill finished in "
            f"the period ({len(data.incidents)} incident(s) still open): nothing shows them working end to end.",
        )
    elif restricted_late:
        implemented = (
            PARTLY,
            f"{len(closed)} incident(s) closed and {len(finished_drills)} drill(s) finished; restriction missed its "
            f"target in {_refs(restricted_late)}.",
        )
    else:
        implemented = (
            YES,
            f"{len(closed)} incident(s) closed ({len(compromised)} confirmed compromises) and {len(finished_drills)} "
            f"drill(s) finished on the real playbook; every key restricted within its target.",
        )
    # evaluated
    signed = [r for r, state in data.review_states.items() if state == reviews.SIGNED_OFF]
    unreviewed = [i for i in closed if data.review_states.get(i.reference) != reviews.SIGNED_OFF]
    exercised = bool(finished_drills or data.tabletops)
    if exercised and not unreviewed:
        evaluated = (
            YES,
            f"{len(finished_drills)} drill(s) scored and {len(data.tabletops)} tabletop exercise(s); "
            f"{len(signed)} review(s) signed off; response times measured against targets "
            f"({sum(data.missed.values())} miss(es)).",
        )
    elif exercised or signed or data.metrics:
        evaluated = (
            PARTLY,
            f"{len(finished_drills)} drill(s), {len(data.tabletops)} tabletop(s), {len(signed)} signed review(s); "
            + (f"closed without a signed review: {_refs(unreviewed)}" if unreviewed else "no exercise in the period")
            + ".",
        )
    else:
        evaluated = (NO, "No drill, tabletop exercise, review or measured incident in the period.")
    # legal provisions
    rules = len(data.playbooks[-1].content.get("regulatory_rules", [])) if data.playbooks else 0
    late = data.obligations.get("filed late", 0) + data.obligations.get("overdue", 0)
    if not rules:
        legal = (NO, "No published procedure carries the regulatory rules.")
    elif late:
        legal = (
            PARTLY,
            f"The procedure runs {rules} regulatory rules; obligations in the period: "
            + ", ".join(f"{n} {state}" for state, n in sorted(data.obligations.items()))
            + ".",
        )
    else:
        tally = ", ".join(f"{n} {state}" for state, n in sorted(data.obligations.items())) or "none arose"
        legal = (YES, f"The procedure runs {rules} regulatory rules; obligations in the period: {tally}.")
    parts = {"defined": defined, "implemented": implemented, "evaluated": evaluated, "legal provisions": legal}
    statuses = [status for status, _ in parts.values()]
    overall = YES if all(s == YES for s in statuses) else (NO if all(s == NO for s in statuses) else PARTLY)
    refs = [_playbook_ref(data), f"incidents {_refs(data.incidents)}", f"events #{data.first_seq}-#{data.last_seq}"]
    answers = [
        Answer(f"CAIQ-{name}", f"Are the processes, procedures and technical measures {name}?", status, text, refs)
        for name, (status, text) in parts.items()
    ]
    caiq = Answer(
        "CAIQ",
        "Are processes, procedures, and technical measures to use compromised keys to encrypt information in "
        "specific scenarios (e.g., only in controlled circumstances and thereafter only for data decryption and "
        "never for encryption) defined, implemented, and evaluated including provisions for legal and regulatory "
        "requirements?",
        overall,
        "; ".join(f"{name}: {status}" for name, (status, _t) in parts.items()) + ".",
        refs,
    )
    return [caiq, *answers]


def _tone(parts: list[str]) -> str:
    if all(p == YES for p in parts):
        return EVIDENCED
    return NOT_EVIDENCED if all(p == NO for p in parts) else PARTLY_EVIDENCED


def _ag(id_: str, guideline: str, status: str, answer: str, refs: list[str]) -> Answer:
    return Answer(id_, guideline, status, answer, refs)


def _guidelines(data: PeriodData, caiq: list[Answer]) -> list[Answer]:
    by_id = {a.id: a for a in caiq}
    parts = [by_id[f"CAIQ-{p}"].status for p in ("defined", "implemented", "evaluated", "legal provisions")]
    compromised = [i for i in data.incidents if i.resolution == Incident.Resolution.COMPROMISE]
    keys = data.keys
    bad_keys = [k for k in keys if k.state in COMPROMISED]
    restricted = [k for k in bad_keys if k.restricted_at is not None]
    exceptions_backed = [e for e in data.exceptions if e.approval_reference]
    missing_context = [e.seq for e in data.uses if not (e.reason and e.affected_system and e.actor)]
    linked = [e for e in data.uses if e.incident and e.reason]
    signals = Counter(s for i in data.incidents for s in i.signals.values_list("source", flat=True))
    active = [k.alias for k in keys if k.state in ("active", "pre_activation")]
    unverified = [d for d in data.decisions if d.method != "webauthn"]
    ai_keys = [f"{k.alias} ({k.ai_category})" for k in keys if k.ai_category]
    told = sum(data.notifications.values())
    acked = data.notifications.get("acknowledged", 0)
    incidents = f"incidents {_refs(data.incidents)}"
    items = [
        _ag(
            "AG-1",
            "Processes, procedures and technical measures for compromised keys are defined, implemented and "
            "evaluated, with legal and regulatory provisions.",
            EVIDENCED
            if all(p == YES for p in parts)
            else (NOT_EVIDENCED if all(p == NO for p in parts) else PARTLY_EVIDENCED),
            "Defined, implemented, evaluated, legal provisions: " + ", ".join(parts) + " (see the CAIQ answer).",
            [_playbook_ref(data), "§ CAIQ"],
        ),
        _ag(
            "AG-2",
            "The incident response plan documents the steps for compromised keys: restricted to decryption, revoked, "
            "never reused for encryption; the procedures meet legal requirements.",
            (EVIDENCED if data.playbooks and len(restricted) == len(bad_keys) else PARTLY_EVIDENCED)
            if data.playbooks
            else NOT_EVIDENCED,
            f"{_playbook_ref(data)} documents the restrict and rewrap steps; {len(restricted)} of {len(bad_keys)} "
            f"compromised key(s) of the period verified decrypt-only on their backend; {len(compromised)} confirmed "
            f"compromise(s).",
            [_playbook_ref(data), incidents],
        ),
        _ag(
            "AG-3",
            "Compromised keys are used to decrypt only, under controlled circumstances; encryption is prohibited "
            "unless formally approved.",
            (EVIDENCED if len(exceptions_backed) == len(data.exceptions) else PARTLY_EVIDENCED)
            if keys or data.refused or data.exceptions
            else NOT_EVIDENCED,
            f"{len(data.exceptions)} encryption exception(s) in the period ({len(exceptions_backed)} backed by an "
            f"approval), {sum(e.operations_used for e in data.exceptions)} encryption(s) under them; "
            f"{data.refused} refused use(s) recorded by the gate; {len(data.grants)} decrypt grant(s).",
            ["§ Exceptions and grants", f"events #{data.first_seq}-#{data.last_seq}"],
        ),
        _ag(
            "AG-4",
            "Compromised keys are detected and flagged in the key management systems.",
            EVIDENCED if signals else (PARTLY_EVIDENCED if data.exercises else NOT_EVIDENCED),
            (
                f"{sum(signals.values())} signal(s) from {', '.join(sorted(signals))}, each containing its keys in the "
                "transaction that recorded it."
            )
            if signals
            else f"No real signal in the period; {len(data.exercises)} exercise(s) ran the detection path.",
            [incidents],
        ),
        _ag(
            "AG-5",
            "Compromised keys are segregated from active inventories and unusable in encryption workflows.",
            (EVIDENCED if not active else PARTLY_EVIDENCED) if keys else NOT_EVIDENCED,
            (
                f"{len(keys)} key(s) in the period's incidents, by state: "
                + ", ".join(f"{n} {s}" for s, n in sorted(data.key_states.items()))
                + (f"; still active: {', '.join(active)}" if active else "; none active")
                + "."
            )
            if keys
            else "No key was involved in an incident in the period.",
            ["§ Keys"],
        ),
        _ag(
            "AG-6",
            "Access to compromised keys is restricted to authorised response teams, with elevated approvals and "
            "role-based controls.",
            (EVIDENCED if not unverified else PARTLY_EVIDENCED) if data.decisions else NOT_EVIDENCED,
            f"{len(data.decisions)} approval decision(s) in the period by role under quorum policies, "
            f"{len(data.decisions) - len(unverified)} with a WebAuthn signature ({len(unverified)} with TOTP); "
            f"{len(data.grants)} decrypt grant(s), each scoped to a principal, purpose, budget and expiry.",
            ["§ Approvals"],
        ),
        _ag(
            "AG-7",
            "Audit logs track every access to and use of compromised keys, with reason, identity and affected systems.",
            (EVIDENCED if not missing_context else PARTLY_EVIDENCED) if data.uses else NOT_EVIDENCED,
            f"{len(data.uses)} use event(s) of the period's keys on the hash-chained trail, {len(missing_context)} "
            f"without a reason or affected system; {data.refused} refused use(s) recorded. The attached bundle "
            "re-verifies offline against the signed checkpoints.",
            [f"events #{data.first_seq}-#{data.last_seq}", "audit-bundle.json"],
        ),
        _ag(
            "AG-8",
            "Decrypt-only operations are documented and retained, with justification and linkage to security events.",
            (EVIDENCED if len(linked) == len(data.uses) else PARTLY_EVIDENCED) if data.uses else NOT_EVIDENCED,
            f"{len(linked)} of {len(data.uses)} use record(s) carry a justification and their incident; retained on "
            "the append-only trail.",
            ["audit-bundle.json"],
        ),
        _ag(
            "AG-9",
            "Regulatory obligations (GDPR breach response, HIPAA, FedRAMP procedures) are applied.",
            (PARTLY_EVIDENCED if data.obligations.get("filed late") or data.obligations.get("overdue") else EVIDENCED)
            if data.obligations
            else NOT_EVIDENCED,
            ("Required obligations: " + ", ".join(f"{n} {s}" for s, n in sorted(data.obligations.items())) + ".")
            if data.obligations
            else "No regulatory obligation arose from the period's incidents.",
            [incidents],
        ),
        _ag(
            "AG-10",
            "AI-specific keys (model logs, prompt storage, inference results) follow the same decrypt-only handling.",
            EVIDENCED if ai_keys else NOT_EVIDENCED,
            (f"AI-category keys in the period's incidents: {', '.join(ai_keys)}.")
            if ai_keys
            else "No AI-category key was involved in an incident in the period; drills exercise a prompt-store canary.",
            ["§ Keys"],
        ),
        _ag(
            "AG-11",
            "Coordination with upstream providers and downstream consumers on containment and key status.",
            (EVIDENCED if acked == told else PARTLY_EVIDENCED) if told else NOT_EVIDENCED,
            (f"{told} notification(s): " + ", ".join(f"{n} {s}" for s, n in sorted(data.notifications.items())) + ".")
            if told
            else "No party was notified in the period.",
            [incidents],
        ),
    ]
    rewrapped = RewrapProgress.objects.filter(incident__in=data.incidents)
    done = sum(r.done for r in rewrapped)
    total = sum(r.total for r in rewrapped)
    missed = sum(data.missed.values())
    finished_drills = [card for _, card in data.drills if card.get("status") == "finished"]
    ccm = [
        _ag(
            "CCM-1",
            "Defined processes, procedures and technical measures for secure handling of compromised keys.",
            {YES: EVIDENCED, PARTLY: PARTLY_EVIDENCED}.get(parts[0], NOT_EVIDENCED),
            by_id["CAIQ-defined"].answer,
            [_playbook_ref(data)],
        ),
        _ag(
            "CCM-2",
            "Secure usage of compromised keys meets business and operational continuity requirements.",
            (EVIDENCED if done == total and not data.missed.get("rewrap") else PARTLY_EVIDENCED)
            if total
            else NOT_EVIDENCED,
            f"{done} of {total} wrapped item(s) re-encrypted under replacements; rewrap target missed "
            f"{data.missed.get('rewrap', 0)} time(s); decryption stayed available under {len(data.grants)} grant(s).",
            [incidents],
        ),
        _ag(
            "CCM-3",
            "Significance of the technical and organisational measures for using compromised keys securely is "
            "evaluated.",
            (EVIDENCED if finished_drills and not missed else PARTLY_EVIDENCED)
            if (finished_drills or data.metrics)
            else NOT_EVIDENCED,
            f"{len(finished_drills)} drill(s) scored; {missed} response-time target(s) missed in the period's "
            f"incidents ({', '.join(f'{m}: {n}' for m, n in sorted(data.missed.items())) or 'none'}); "
            f"{len(data.open_actions)} review action(s) still open.",
            ["§ Metrics", "§ Drills", "§ Reviews"],
        ),
    ]
    return items + ccm


def period_answers(data: PeriodData) -> list[Answer]:
    caiq = _caiq(data)
    return [*caiq, *_guidelines(data, caiq)]
