"""An incident's assessment: pre-filled from key custody, recorded with who and when, recomputed with
what changed; sign-off through regulatory_filing_signoff; filings; the playbook hook; the case file."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest

from approvals.models import ApprovalRequest
from audit.actors import Actor
from audit.models import AuditEvent
from casefile.gather import _PROVIDERS
from incidents.services.hooks import step_hooks_run
from regulatory.errors import FactsBadTime, FactsInvalid, FilingInvalid
from regulatory.models import Assessment, Obligation
from regulatory.serialize import utc_z
from regulatory.services.assessments import assessment_prefill, assessment_record
from regulatory.services.catalogue import catalogue_get
from regulatory.services.filings import filing_record, filing_signoff_request
from tests.approvals.conftest import decide
from tests.regulatory.conftest import hipaa_facts

LEGAL = Actor(name="p-legal_dpo", type="user")


def test_prefill_from_blast_radius_and_keys(incident):
    facts = assessment_prefill(incident)
    assert facts["jurisdictions"] == ["US-NY"]
    # each data asset is a block: which law its data falls under is read from its jurisdictions
    assert facts["data"] == {
        "blocks": [
            {
                "name": "patient-records",
                "jurisdictions": ["US-NY"],
                "categories": ["personal_data", "phi"],
                "personal_data": True,
                "subjects_total": 800,
                "subjects_by_state": {"US-NY": 800},
                "encrypted": True,
            }
        ]
    }
    assert facts["encryption"] == {"key_compromised": True, "keys": ["records-kek"]}
    assert set(facts["events"]) == {"detected_at", "aware_at"}
    assert "entity" not in facts  # no organisation profile yet: nothing assumed


def test_counts_recorded_by_a_person_win_over_the_blast_radius(incident):
    facts = hipaa_facts(incident)
    [block] = facts["data"]["blocks"]
    block["subjects_total"] = 450  # 800 records, 450 people
    block["subjects_by_state"] = {"US-NY": 450}
    assessment_record(incident=incident, facts=facts, actor=LEGAL)
    again = assessment_prefill(incident)
    assert again["data"]["blocks"][0]["subjects_total"] == 450
    assert again["data"]["blocks"][0]["subjects_by_state"] == {"US-NY": 450}
    assert again["extra"]["prefill"]["blast_radius_counts"] == {"patient-records": 800}
    assert again["entity"]["hipaa"] == "covered_entity"  # legal's entity facts are kept too


def test_the_organisation_profile_prefills_and_follows(incident):
    """The profile pre-fills the entity facts; a new version reaches open incidents whose entity facts
    came from it (the sync job), never those legal corrected for the incident."""
    from regulatory.services.assessments import assessment_sync
    from regulatory.services.profile import profile_publish
    from tests.regulatory.conftest import entity

    admin = Actor(name="admin", type="user")
    hospital = entity(id="st-mary", name="St Mary", roles=["controller"], hipaa="covered_entity", establishments=["US"])
    profile_publish(entities=[hospital], deadline_tz="America/New_York", actor=admin, note="first")
    first = assessment_sync(incident)
    assert first is not None
    assert first.facts["entity"] == hospital
    assert first.facts["deadline_tz"] == "America/New_York"
    assert first.facts["extra"]["prefill"]["profile"]["version"] == 1
    assert Obligation.objects.get(incident=incident, rule_id="US-HIPAA-404").status == "required"
    assert assessment_sync(incident) is None  # nothing moved
    profile_publish(entities=[{**hospital, "nydfs_covered": True}], deadline_tz="America/New_York", actor=admin)
    followed = assessment_sync(incident)
    assert followed is not None
    assert followed.facts["entity"]["nydfs_covered"] is True
    assert "organisation profile v2" in followed.note
    # legal corrects the entity for this incident: a later profile version no longer overrides it
    corrected = assessment_prefill(incident)
    corrected["entity"]["sec_registrant"] = True
    assessment_record(incident=incident, facts=corrected, actor=LEGAL)
    profile_publish(entities=[{**hospital, "bank": True}], deadline_tz="America/New_York", actor=admin)
    assert assessment_sync(incident) is None
    kept = assessment_prefill(incident)
    assert kept["entity"]["sec_registrant"] is True
    assert "bank" not in kept["entity"] or kept["entity"]["bank"] is False
    assert kept["extra"]["prefill"]["profile"]["edited_for_incident"] is True
    assert AuditEvent.objects.filter(action="regulatory.profile_published").count() == 3


def test_a_profile_is_validated_and_versioned(db):
    from regulatory.models import OrganisationProfile
    from regulatory.services.profile import profile_publish

    admin = Actor(name="admin", type="user")
    with pytest.raises(FactsInvalid) as raised:
        profile_publish(entities=[{"id": "x", "name": "X", "hipaa": "maybe"}], deadline_tz="UTC", actor=admin)
    assert raised.value.details["field"] == "entity.hipaa"
    with pytest.raises(FactsInvalid):
        profile_publish(entities=[{"name": "no id"}], deadline_tz="UTC", actor=admin)
    with pytest.raises(FactsInvalid):
        profile_publish(entities=[{"id": "x", "name": "X", "events": {}}], deadline_tz="UTC", actor=admin)
    assert not OrganisationProfile.objects.exists()
    profile_publish(entities=[{"id": "x", "name": "X"}], deadline_tz="UTC", actor=admin)
    second = profile_publish(entities=[{"id": "x", "name": "X", "bank": True}], deadline_tz="UTC", actor=admin)
    assert second.version == 2
    event = AuditEvent.objects.filter(action="regulatory.profile_published").order_by("-seq").first()
    assert event is not None
    assert event.data["changes"] == [{"path": "entities[x].bank", "before": None, "after": True}]


def test_record_then_recompute_shows_what_changed(incident):
    first = assessment_record(incident=incident, facts=hipaa_facts(incident), actor=LEGAL, note="first look")
    assert (first.version, first.recorded_by, first.changes) == (1, "p-legal_dpo", [])
    hipaa = Obligation.objects.get(incident=incident, rule_id="US-HIPAA-404")
    assert hipaa.status == "required"
    assert Obligation.objects.get(incident=incident, rule_id="US-HIPAA-406").status == "required"  # 800 > 500 in NY
    # the trigger time is corrected: the deadline moves, and the change is shown
    corrected = hipaa_facts(incident)
    corrected["events"]["discovered_at"] = "2026-01-15T15:00:00Z"
    second = assessment_record(incident=incident, facts=corrected, actor=LEGAL, note="discovery was earlier")
    moved = {(c["id"], c["field"]): c for c in second.changes}
    assert moved[("US-HIPAA-404", "due_utc")]["after"] == "2026-03-17T03:59:59Z"
    hipaa.refresh_from_db()
    assert hipaa.due_at == datetime(2026, 3, 17, 3, 59, 59, tzinfo=UTC)
    assert hipaa.assessment_id == second.pk
    event = AuditEvent.objects.filter(action="regulatory.assessed").order_by("-seq").first()
    assert event is not None
    assert event.incident == incident.reference


def test_invalid_facts_store_nothing(incident):
    facts = hipaa_facts(incident)
    facts["events"]["aware_at"] = "last tuesday"
    with pytest.raises(FactsBadTime):
        assessment_record(incident=incident, facts=facts, actor=LEGAL)
    assert not Assessment.objects.exists()


def test_filing_needs_an_approved_signoff_and_a_reason_when_late(incident, people, authenticators):
    facts = hipaa_facts(incident)
    facts["events"]["discovered_at"] = "2026-01-15T15:00:00Z"
    assessment_record(incident=incident, facts=facts, actor=LEGAL)
    obligation = Obligation.objects.get(incident=incident, rule_id="US-HIPAA-404")
    filed_at = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)  # after the 17 Mar due time
    with pytest.raises(FilingInvalid, match="sign-off"):
        filing_record(obligation=obligation, actor=LEGAL, filed_at=filed_at, channel="letters")
    request = filing_signoff_request(
        obligation=obligation, user=people["commander"], actor=Actor(name="p-commander", type="user"), reason="ready"
    )
    assert request.action == "regulatory_filing_signoff"
    assert request.subject_id == "INC-2026-9001/US-HIPAA-404"
    decide(people["legal_dpo"], request, authenticator=authenticators["legal_dpo"], reason="letter text approved")
    request.refresh_from_db()
    assert request.status == ApprovalRequest.Status.APPROVED
    with pytest.raises(FilingInvalid, match="a late filing states why"):
        filing_record(obligation=obligation, actor=LEGAL, filed_at=filed_at, channel="letters")
    filing = filing_record(
        obligation=obligation,
        actor=LEGAL,
        filed_at=filed_at,
        channel="first-class mail",
        reference="batch-7",
        attachments=[{"name": "letter.pdf", "sha256": "ab" * 32}],
        late_reason="law-enforcement delay (164.412) ended 18 Mar",
    )
    assert not filing.on_time
    assert filing.signoff_id == request.id


def test_nothing_to_file_for_an_exempt_obligation(incident, people):
    facts = hipaa_facts(incident)
    facts["encryption"]["key_compromised"] = False
    assessment_record(incident=incident, facts=facts, actor=LEGAL)
    obligation = Obligation.objects.get(incident=incident, rule_id="US-HIPAA-404")
    assert obligation.status == "exempt"
    with pytest.raises(FilingInvalid, match="nothing to file"):
        filing_signoff_request(obligation=obligation, user=people["commander"], actor=LEGAL, reason="x")


def test_playbook_step_assesses_from_the_prefill_once(incident):
    ran = step_hooks_run(incident=incident, step="regulatory")
    assert "regulatory-assessment" in ran
    assessment = Assessment.objects.get(incident=incident)
    assert assessment.recorded_by == "sequester:playbook-regulatory"
    step_hooks_run(incident=incident, step="regulatory")
    assert Assessment.objects.filter(incident=incident).count() == 1
    line = AuditEvent.objects.filter(action="incident.regulatory_hook").order_by("-seq").first()
    assert line is not None
    assert line.reason.startswith("assessment v1: ")


def test_case_file_section(incident):
    assert _PROVIDERS["obligations"](incident) is None
    assessment_record(incident=incident, facts=hipaa_facts(incident), actor=LEGAL)
    section = _PROVIDERS["obligations"](incident)
    assert section is not None
    rules = [row[0] for row in section.rows]
    assert "US-HIPAA-404" in rules
    assert "EU-GDPR-33" not in rules  # not applicable: listed in the evidence only
    assert len(section.evidence) == len(catalogue_get().rules)
    assert "Assessment v1 recorded by p-legal_dpo" in section.note


def test_awareness_on_the_incident_starts_and_moves_the_clocks(incident):
    from datetime import timedelta

    from regulatory.services.assessments import assessment_sync
    from regulatory.tasks import sync_awareness

    assert sync_awareness() == 1  # aware_at is set on the fixture's incident: assessed at once
    first = Assessment.objects.get(incident=incident)
    assert first.recorded_by == "sequester:regulatory-sync"
    assert assessment_sync(incident) is None  # nothing moved
    # legal completes the facts (from the pre-filled form): the synced awareness is carried along; with no
    # discovery time recorded, HIPAA's clock runs from the earliest knowledge event (the fallback)
    facts = hipaa_facts(incident)
    del facts["events"]["discovered_at"]
    assessment_record(incident=incident, facts=facts, actor=LEGAL)
    assert assessment_sync(incident) is None
    # the commander corrects the awareness time: a new version follows it
    assert incident.aware_at is not None
    incident.aware_at -= timedelta(hours=5)
    incident.save(update_fields=["aware_at"])
    moved = assessment_sync(incident)
    assert moved is not None
    assert moved.version == 3
    assert moved.facts["events"]["aware_at"] == utc_z(incident.aware_at)
    assert moved.facts["entity"]["hipaa"] == "covered_entity"  # legal's facts are kept
    assert {"id": "US-HIPAA-404", "field": "trigger_at"}.items() <= next(
        c for c in moved.changes if c["id"] == "US-HIPAA-404" and c["field"] == "trigger_at"
    ).items()


def test_awareness_set_by_hand_is_not_overridden(incident):
    from regulatory.services.assessments import assessment_sync

    facts = {"deadline_tz": "UTC", "events": {"aware_at": "2026-01-01T00:00:00Z"}}
    assessment_record(incident=incident, facts=facts, actor=LEGAL)
    assert assessment_sync(incident) is None


def test_the_demo_incident_shows_gdpr_art_33_at_once(db):
    """`make run` seeds the estate and a demo organisation profile: an incident on the card-data key is
    assessed as soon as it opens (the task its creation queues), and GDPR Art 33 is required at once —
    provisional until legal decides on the risk — with its 72 hours running."""
    from django.core.management import call_command

    from incidents.cloudevents import parse
    from incidents.services.signals import signal_receive
    from regulatory.tasks import assess_incident

    call_command("seed_demo", stdout=StringIO())
    event = parse(
        {
            "specversion": "1.0",
            "id": "demo-leak-1",
            "source": "https://scanner.example/secrets",
            "type": "com.example.secret.leaked",
            "data": {"keys": [{"alias": "payments"}], "severity": "high"},
        }
    )
    incident = signal_receive(event=event, via="api", actor=Actor.system("tests")).incident
    assert assess_incident(incident.reference) == 1
    gdpr = Obligation.objects.get(incident=incident, rule_id="EU-GDPR-33")
    assert gdpr.status == "required"
    assert gdpr.due_at is not None
    assert [p["name"] for p in gdpr.detail["pending"]] == ["decisions.unlikely_risk", "events.aware_at"]
    assert Obligation.objects.get(incident=incident, rule_id="PCI-VISA").status == "required"
    assert assess_incident(incident.reference) is None  # once
