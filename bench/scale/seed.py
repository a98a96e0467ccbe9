"""A year of a large organisation's data, written in bulk (COPY on PostgreSQL: ``webapp.bulk``): keys
with hierarchies (real material from the local keystore), incidents with their keys, parties and inbox
notifications, obligations, case-file exports, approval requests with decisions, and audit events appended
through the chain's own bulk path (``audit_record_many``: hashed and linked as every event is).

Every function adds rows (call it again for more): the query-count tests build 10 rows, then 1,000, with the
same code the scale benchmark uses for 10,000 incidents and a million events.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from webapp.bulk import rows_write

BATCH = 5000
YEAR = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class Scale:
    incidents: int
    keys: int
    events: int
    approvals: int
    keys_per_kek: int = 100

    @property
    def label(self) -> str:
        return f"{self.incidents} incidents, {self.keys} keys, {self.events} events, {self.approvals} approvals"


def _chunks(items: Sequence[Any], size: int = BATCH) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def seed_people(names: dict[str, Sequence[str]]) -> dict[str, User]:
    """Users by name with their role groups (created once, then found again)."""
    people = {}
    for name, roles in names.items():
        user, created = User.objects.get_or_create(username=name, defaults={"email": f"{name}@example.test"})
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            user.groups.add(*Group.objects.filter(name__in=roles))
        people[name] = user
    return people


def seed_keys(count: int, *, tag: str, keys_per_kek: int = 100, custodian: User | None = None) -> list[Any]:
    """``count`` keys in hierarchies: one KEK for every ``keys_per_kek`` keys, wrapping the others. Real
    material (the local keystore wraps each key), one version, usage counters. Active, a few quarantined."""
    from keyvault.backends import backend_for
    from keyvault.models import USAGE_SHARDS, KeyUsage, KeyVersion, ManagedKey

    backend = backend_for("local")
    now = timezone.now()
    keys: list[ManagedKey] = []
    kek: ManagedKey | None = None
    for i in range(count):
        is_kek = i % keys_per_kek == 0
        state = "active" if is_kek or i % 50 else ("suspended" if i % 100 else "compromised")
        key = ManagedKey(
            alias=f"{tag}-{'kek' if is_kek else 'dek'}-{i:07d}",
            purpose="key encryption" if is_kek else "data encryption",
            state=state,
            parent=None if is_kek else kek,
            custodian=custodian,
            activated_at=now,
            suspended_at=now if state != "active" else None,
        )
        if is_kek:
            kek = key
        keys.append(key)
    for chunk in _chunks(keys):
        with transaction.atomic():
            rows_write(ManagedKey, chunk)
            versions = []
            for key in chunk:
                created = backend.create_version(key_id=key.id, version=1)
                versions.append(
                    KeyVersion(key=key, version=1, material=created.material, fingerprint=created.fingerprint)
                )
            rows_write(KeyVersion, versions)
            rows_write(KeyUsage, [KeyUsage(key=k, shard=s) for k in chunk for s in range(USAGE_SHARDS)])
    return keys


def seed_incidents(
    count: int,
    *,
    tag: str,
    keys: Sequence[Any],
    commanders: Sequence[User],
    open_share: float = 0.05,
    rng: random.Random | None = None,
) -> list[Any]:
    """``count`` incidents over the past year, most closed, each involving one to three of ``keys``."""
    from incidents.models import Incident, IncidentKey, Severity

    rng = rng or random.Random(20)
    now = timezone.now()
    steps = [s for s in Incident.Step.values if s not in ("detect", "closed")]
    severities = list(Severity.values)
    incidents = []
    links = []
    for i in range(count):
        opened = now - YEAR * rng.random()
        is_open = rng.random() < open_share
        incident = Incident(
            reference=f"INC-{tag}-{i:06d}",
            title=f"Key leak {i} ({tag})",
            status=Incident.Status.OPEN if is_open else Incident.Status.CLOSED,
            step=rng.choice(steps) if is_open else Incident.Step.CLOSED,
            severity=rng.choice(severities),
            resolution="" if is_open else rng.choice(["compromise", "false_positive"]),
            commander=rng.choice(commanders) if commanders else None,
            opened_at=opened,
            detected_at=opened,
            aware_at=opened + timedelta(minutes=30),
            closed_at=None if is_open else opened + timedelta(days=rng.randint(1, 20)),
            workflow_id=f"incident-{tag}-{i}",
        )
        incidents.append(incident)
        for key in rng.sample(keys, k=min(len(keys), rng.randint(1, 3))):
            links.append(IncidentKey(incident=incident, key=key, via=IncidentKey.Via.SIGNAL, added_at=opened))
    for chunk in _chunks(incidents):
        rows_write(Incident, chunk)
    for chunk in _chunks(links):
        rows_write(IncidentKey, chunk)
    return incidents


def seed_parties_and_inbox(incidents: Sequence[Any], *, tag: str, members: Sequence[User]) -> None:
    """An internal team (inbox channel, ``members`` read it) and an outside party; each incident notified
    to both, the team's message delivered to its inbox."""
    from notifications.models import Channel, Delivery, Notification, Party, PartyRole

    team, _ = Party.objects.get_or_create(
        name=f"{tag} security team", defaults={"kind": Party.Kind.TEAM, "role": PartyRole.INTERNAL_TEAM}
    )
    team.members.add(*members)
    inbox, _ = Channel.objects.get_or_create(party=team, kind=Channel.Kind.INBOX)
    vendor, _ = Party.objects.get_or_create(name=f"{tag} HSM vendor", defaults={"role": PartyRole.HSM_VENDOR})
    now = timezone.now()
    notifications = []
    for incident in incidents:
        for party in (team, vendor):
            notifications.append(
                Notification(
                    incident=incident,
                    party=party,
                    audience="internal" if party is team else "upstream",
                    subject=f"{incident.reference}: key status changed",
                    status=Notification.Status.SENT,
                    sent_at=incident.opened_at + timedelta(hours=1),
                    body=f"Keys of {incident.reference} were suspended. Acknowledge: {{ack_url}}",
                    idempotency_key=f"{incident.reference}:{party.pk}:key_status",
                )
            )
    for chunk in _chunks(notifications):
        Notification.objects.bulk_create(chunk)
    deliveries = [
        Delivery(
            notification=n,
            channel=inbox,
            purpose=Delivery.Purpose.INITIAL,
            idempotency_key=f"{n.idempotency_key}:inbox:initial",
            message_id=uuid.uuid4().hex,
            status=Delivery.Status.SENT,
            sent_at=now,
        )
        for n in notifications
        if n.party_id == team.pk
    ]
    for chunk in _chunks(deliveries):
        rows_write(Delivery, chunk)


def seed_obligations(incidents: Sequence[Any], *, hours_ahead: float = 48) -> None:
    """Each open incident owes one notification to a regulator, due within ``hours_ahead`` hours."""
    from regulatory.models import Assessment, Obligation

    now = timezone.now()
    open_ones = [i for i in incidents if i.status == "open"]
    assessments = [
        Assessment(incident=i, version=1, facts={}, obligations={"obligations": []}, recorded_by="bench")
        for i in open_ones
    ]
    for chunk in _chunks(assessments):
        Assessment.objects.bulk_create(chunk)
    obligations = [
        Obligation(
            incident=a.incident,
            rule_id="gdpr-art33",
            status="required",
            due_at=now + timedelta(hours=hours_ahead * (n % 10) / 10),
            trigger_event="aware",
            trigger_at=now - timedelta(hours=24),
            regime="GDPR",
            recipient="the lead supervisory authority",
            citation="GDPR Art. 33(1)",
            confidence="high",
            detail={"provisional": False, "pending": []},
            assessment=a,
        )
        for n, a in enumerate(assessments)
    ]
    for chunk in _chunks(obligations):
        rows_write(Obligation, chunk)


def seed_casefiles(incidents: Sequence[Any], *, requested_by: User) -> None:
    """One finished case-file export per closed incident (the export row; the PDF is not rendered)."""
    from casefile.models import CaseFileExport

    exports = [
        CaseFileExport(
            incident=i,
            requested_by=requested_by,
            status=CaseFileExport.Status.DONE,
            progress=100,
            finished_at=i.closed_at,
            sha256="0" * 64,
            size=250_000,
            pages=12,
            events=100,
        )
        for i in incidents
        if i.status == "closed"
    ]
    for chunk in _chunks(exports):
        rows_write(CaseFileExport, chunk)


def seed_approvals(
    count: int,
    *,
    incidents: Sequence[Any],
    requesters: Sequence[User],
    approvers: Sequence[User],
    pending_share: float = 0.01,
    rng: random.Random | None = None,
) -> None:
    """``count`` approval requests (confirmations of incidents), most decided (one decision each)."""
    from approvals.models import ApprovalPolicy, ApprovalRequest, Decision
    from approvals.services.requests import payload_hash

    rng = rng or random.Random(50)
    policy = ApprovalPolicy.objects.get(action="confirm_compromise", is_current=True)
    now = timezone.now()
    requests = []
    decisions = []
    for i in range(count):
        incident = incidents[i % len(incidents)]
        requested_at = now - YEAR * rng.random()
        pending = rng.random() < pending_share
        payload = {"action": "confirm_compromise", "incident": incident.reference, "n": i}
        request = ApprovalRequest(
            policy=policy,
            action="confirm_compromise",
            subject_type="incident",
            subject_id=incident.reference,
            incident=incident.reference,
            payload=payload,
            payload_hash=payload_hash(payload),
            reason="confirm the compromise",
            requested_by=rng.choice(requesters),
            requested_at=now if pending else requested_at,
            expires_at=(now if pending else requested_at) + timedelta(hours=4),
            status=ApprovalRequest.Status.PENDING if pending else ApprovalRequest.Status.APPROVED,
            closed_at=None if pending else requested_at + timedelta(minutes=20),
        )
        requests.append(request)
        approver = rng.choice(approvers)
        if approver.pk != request.requested_by_id:
            document = {"request": str(request.id), "decision": "approve", "n": i}
            decisions.append(
                Decision(
                    request=request,
                    approver=approver,
                    role="security_lead",
                    verdict=Decision.Verdict.APPROVE,
                    decided_at=requested_at + timedelta(minutes=10),
                    document=document,
                    document_hash=hashlib.sha256(str(document).encode()).hexdigest(),
                    payload_hash=request.payload_hash,
                    method=Decision.Method.TOTP,
                    evidence={},
                )
            )
    for chunk in _chunks(requests):
        rows_write(ApprovalRequest, chunk)
    for chunk in _chunks(decisions):
        rows_write(Decision, chunk)


def seed_audit(count: int, *, incidents: Sequence[Any], keys: Sequence[Any], batch: int = 10_000) -> None:
    """``count`` audit events through the chain's bulk path: decrypt uses of incident keys under
    investigation (each with its incident and system), spread over ``incidents``."""
    from audit.actors import Actor
    from audit.services import EventDraft, audit_record_many

    actor = Actor(name="svc-payments", type="service", source_ip="10.0.0.7")
    done = 0
    while done < count:
        size = min(batch, count - done)
        drafts = []
        for n in range(done, done + size):
            incident = incidents[n % len(incidents)] if incidents else None
            key = keys[n % len(keys)]
            drafts.append(
                EventDraft(
                    action="key.decrypted",
                    subject_type="key",
                    subject_id=key.id,
                    reason="forensic read of affected records",
                    incident=incident.reference if incident else "",
                    affected_system="payments",
                    data={"bytes": 4096, "n": n},
                )
            )
        with transaction.atomic():
            audit_record_many(actor=actor, drafts=drafts)
        done += size


def first_day() -> datetime:
    return timezone.now() - YEAR
