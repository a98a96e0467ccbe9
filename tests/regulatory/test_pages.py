"""The regulatory pages: the guided facts form (fields, validation messages, a preview of what changes),
provisional duties shown with the decision to take and its owner (the incident's page, the 72-hour page),
the sign-off offered only when someone could decide it, the organisation profile, permissions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from audit.actors import Actor
from regulatory.forms import FactsForm
from regulatory.models import Assessment, Obligation, OrganisationProfile
from regulatory.serialize import utc_z
from regulatory.services.assessments import assessment_prefill, assessment_record
from regulatory.services.catalogue import catalogue_get
from regulatory.services.profile import profile_publish
from tests.regulatory.conftest import entity, hipaa_facts
from webapp import roles

LEGAL = Actor(name="legal", type="user")


def form_data(incident: Any, **changes: Any) -> dict[str, Any]:
    """What a browser submits for the pre-filled form left as it is, with ``changes``."""
    form = FactsForm(base=assessment_prefill(incident), catalogue=catalogue_get(), decided_by="x", now=timezone.now())
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if field.disabled:
            continue
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        data[name] = "" if value is None else value
    data.update(changes)
    return data


def test_legal_assesses_through_the_guided_form(client: Client, make_user, incident):
    client.force_login(make_user("legal", roles.LEGAL_DPO))
    page = client.get(f"/regulatory/incidents/{incident.reference}/")
    assert page.status_code == 200
    assert b'name="facts"' not in page.content  # no raw JSON for people
    assert b'<select name="key_compromised"' in page.content
    assert b'<option value="true" selected>yes</option>' in page.content  # pre-filled from key custody
    assert b'id="id_decision-unlikely_risk"' in page.content
    data = form_data(
        incident,
        **{
            "entity-0-hipaa": "covered_entity",
            "entity-0-roles": ["controller"],
            "event-discovered_at": "2026-01-15T10:00",
            "times_tz": "America/New_York",
            "decision-low_probability_of_compromise": "false",
            "decision-low_probability_of_compromise-note": "four factors weighed",
            "note": "first",
            "record": "1",
        },
    )
    response = client.post(f"/regulatory/incidents/{incident.reference}/assess", data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assessment = Assessment.objects.get(incident=incident)
    assert assessment.recorded_by == "legal"
    assert assessment.facts["entity"]["hipaa"] == "covered_entity"
    assert assessment.facts["events"]["discovered_at"] == "2026-01-15T15:00:00Z"  # 10:00 EST
    decision = assessment.facts["decisions"]["low_probability_of_compromise"]
    assert (decision["value"], decision["by"], decision["note"]) == (False, "legal", "four factors weighed")
    hipaa = Obligation.objects.get(incident=incident, rule_id="US-HIPAA-404")
    assert (hipaa.status, hipaa.detail["provisional"]) == ("required", False)
    page = client.get(f"/regulatory/incidents/{incident.reference}/")
    assert b"<svg" in page.content  # the timeline picture
    assert b'class="countdown"' in page.content


def test_preview_shows_what_would_change_without_recording(client: Client, make_user, incident):
    client.force_login(make_user("legal", roles.LEGAL_DPO))
    assessment_record(incident=incident, facts=hipaa_facts(incident), actor=LEGAL)
    data = form_data(incident, **{"decision-low_probability_of_compromise": "true", "preview": "1"})
    page = client.post(f"/regulatory/incidents/{incident.reference}/assess", data)
    assert page.status_code == 200
    assert Assessment.objects.filter(incident=incident).count() == 1  # nothing recorded
    text = page.content.decode()
    assert "If recorded, this changes" in text
    assert "<code>decisions.low_probability_of_compromise.value</code>" in text
    assert "US-HIPAA-404 status: required → exempt" in text


def test_validation_messages_are_shown_on_their_field(client: Client, make_user, incident):
    client.force_login(make_user("legal", roles.LEGAL_DPO))
    bad_count = form_data(incident, **{"block-0-subjects_by_state": "US-NY=lots", "record": "1"})
    page = client.post(f"/regulatory/incidents/{incident.reference}/assess", bad_count)
    assert page.status_code == 400
    assert "&#x27;US-NY=lots&#x27;: write a state and a number, US-NY=640" in page.content.decode()
    # a rule of the engine's own validation, shown on the field it concerns
    bad_state = form_data(incident, **{"entity-0-member_state": "US", "record": "1"})
    page = client.post(f"/regulatory/incidents/{incident.reference}/assess", bad_state)
    assert page.status_code == 400
    text = page.content.decode()
    field = text[text.index('id="id_entity-0-member_state"') :]
    assert "facts_invalid: entity.member_state: &#x27;US&#x27; is not an EU/EEA Member State code" in field[:600]
    assert not Assessment.objects.exists()


def test_provisional_duties_are_shown_with_the_decision_and_its_owner(client: Client, make_user, incident):
    facts = hipaa_facts(incident)
    facts["events"]["discovered_at"] = utc_z(timezone.now() - timedelta(hours=1))
    facts["entity"]["nydfs_covered"] = True
    facts["events"]["determined_at"] = utc_z(timezone.now() - timedelta(hours=10))  # NYDFS 72 h: due in 62 h
    assessment_record(incident=incident, facts=facts, actor=LEGAL)
    nydfs = Obligation.objects.get(incident=incident, rule_id="US-NYDFS-500.17")
    assert nydfs.detail["provisional"] is True  # "reportable" is not decided yet
    client.force_login(make_user("legal", roles.LEGAL_DPO))
    page = client.get(f"/regulatory/incidents/{incident.reference}/").content.decode()
    assert "Decisions to take" in page
    assert 'href="#id_decision-reportable_cyber_incident">decisions.reportable_cyber_incident</a>' in page
    assert "CISO with legal" in page
    panel = client.get(f"/incidents/{incident.reference}/").content.decode()
    assert "Regulatory clocks" in panel
    assert "provisional</strong>" in panel
    assert "decisions.reportable_cyber_incident <small>(CISO with legal)</small>" in panel
    due = client.get("/regulatory/due/").content.decode()
    assert "US-NYDFS-500.17" in due
    assert "decisions.reportable_cyber_incident — could make it not required <small>(CISO with legal)</small>" in due
    assert "US-HIPAA-404" not in due  # 60 days away
    assert "Due 72 h" in due  # in the navigation


def test_sign_off_is_offered_only_when_someone_could_decide_it(client: Client, make_user, incident, commander):
    legal = make_user("legal", roles.LEGAL_DPO)
    assessment_record(incident=incident, facts=hipaa_facts(incident), actor=LEGAL)
    client.force_login(legal)
    page = client.get(f"/regulatory/incidents/{incident.reference}/").content.decode()
    assert "Request legal sign-off" not in page
    assert "ask another legal/DPO approver to request it" in page
    response = client.post(f"/regulatory/incidents/{incident.reference}/US-HIPAA-404/signoff", follow=True)
    assert "no_eligible_approver" in response.content.decode()
    client.force_login(commander)
    assert "Request legal sign-off" in client.get(f"/regulatory/incidents/{incident.reference}/").content.decode()


def test_an_outsider_sees_nothing(client: Client, make_user, incident):
    client.force_login(make_user("nobody"))
    assert client.get(f"/regulatory/incidents/{incident.reference}/").status_code == 403
    assert client.get("/regulatory/due/").status_code == 403
    assert client.get("/regulatory/profile/").status_code == 403


def test_an_auditor_reads_but_cannot_assess(client: Client, make_user, incident):
    client.force_login(make_user("aud", roles.AUDITOR))
    page = client.get(f"/regulatory/incidents/{incident.reference}/")
    assert page.status_code == 200
    assert b"Record and recompute" not in page.content
    response = client.post(f"/regulatory/incidents/{incident.reference}/assess", {"record": "1"})
    assert response.status_code == 403


def test_the_organisation_profile_page(client: Client, make_user, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="x")
    client.force_login(admin)
    page = client.get("/regulatory/profile/")
    assert page.status_code == 200
    assert b"Publish a new version" in page.content
    data = {
        "deadline_tz": "Europe/Berlin",
        "entity-0-id": "acme-eu",
        "entity-0-name": "Acme Europe GmbH",
        "entity-0-roles": ["controller"],
        "entity-0-establishments": "DE",
        "entity-0-nis2": "important",
        "entity-0-card_brands": ["__none__"],
        "entity-0-sec_registrant": "false",
        "note": "first version",
    }
    response = client.post("/regulatory/profile/", data)
    assert response.status_code == 302
    profile = OrganisationProfile.objects.get()
    principal = profile.entities[0]
    assert (principal["id"], principal["roles"], principal["card_brands"]) == ("acme-eu", ["controller"], [])
    assert principal["establishments"] == ["DE", "EEA", "EU"] or principal["establishments"] == ["DE"]
    assert principal["sec_registrant"] is False
    assert "hipaa" not in principal  # left "not recorded": never assumed
    # an invalid value is refused on its field
    response = client.post("/regulatory/profile/", {**data, "entity-0-member_state": "US"})
    assert response.status_code == 400
    assert OrganisationProfile.objects.count() == 1
    # legal reads it, cannot publish
    client.force_login(make_user("legal", roles.LEGAL_DPO))
    page = client.get("/regulatory/profile/")
    assert page.status_code == 200
    assert b"Publish a new version" not in page.content
    assert client.post("/regulatory/profile/", data).status_code == 403


def test_profile_prefills_the_form(client: Client, make_user, incident):
    profile_publish(
        entities=[entity(id="acme", name="Acme", roles=["controller"], establishments=["US"])],
        deadline_tz="America/New_York",
        actor=LEGAL,
    )
    client.force_login(make_user("legal", roles.LEGAL_DPO))
    page = client.get(f"/regulatory/incidents/{incident.reference}/").content.decode()
    assert "Legal entity: Acme" in page
    assert "organisation profile</a> (v1)" in page
