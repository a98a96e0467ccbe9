"""The regulatory pages: the incident's clocks (panel, timeline, form), the 72-hour view, permissions."""

from __future__ import annotations

import json
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from audit.actors import Actor
from regulatory.models import Assessment, Obligation
from regulatory.serialize import utc_z
from regulatory.services.assessments import assessment_record
from tests.regulatory.conftest import hipaa_facts
from webapp import roles

LEGAL = Actor(name="legal", type="user")


def test_legal_assesses_from_the_form_and_sees_the_clocks(client: Client, make_user, incident):
    client.force_login(make_user("legal", roles.LEGAL_DPO))
    page = client.get(f"/regulatory/incidents/{incident.reference}/")
    assert page.status_code == 200
    assert b"Not assessed yet." in page.content
    assert b"&quot;key_compromised&quot;: true" in page.content  # pre-filled from key custody
    facts = hipaa_facts(incident)
    response = client.post(
        f"/regulatory/incidents/{incident.reference}/assess", {"facts": json.dumps(facts), "note": "first"}
    )
    assert response.status_code == 302
    assessment = Assessment.objects.get(incident=incident)
    assert assessment.recorded_by == "legal"
    page = client.get(f"/regulatory/incidents/{incident.reference}/")
    assert b"US-HIPAA-404" in page.content
    assert b"<svg" in page.content  # the timeline picture
    assert b'class="countdown"' in page.content
    incident_page = client.get(f"/incidents/{incident.reference}/")
    assert b"Regulatory clocks" in incident_page.content
    assert b"US-HIPAA-404" in incident_page.content


def test_bad_facts_are_shown_with_their_code(client: Client, make_user, incident):
    client.force_login(make_user("legal", roles.LEGAL_DPO))
    response = client.post(f"/regulatory/incidents/{incident.reference}/assess", {"facts": "{oops"}, follow=True)
    assert b"facts_not_json" in response.content
    assert not Assessment.objects.exists()


def test_an_outsider_sees_nothing(client: Client, make_user, incident):
    client.force_login(make_user("nobody"))
    assert client.get(f"/regulatory/incidents/{incident.reference}/").status_code == 403
    assert client.get("/regulatory/due/").status_code == 403


def test_an_auditor_reads_but_cannot_assess(client: Client, make_user, incident):
    client.force_login(make_user("aud", roles.AUDITOR))
    page = client.get(f"/regulatory/incidents/{incident.reference}/")
    assert page.status_code == 200
    assert b"Record and recompute" not in page.content
    response = client.post(f"/regulatory/incidents/{incident.reference}/assess", {"facts": "{}"})
    assert response.status_code == 403


def test_due_in_72_hours(client: Client, make_user, incident):
    facts = hipaa_facts(incident)
    now = timezone.now()
    facts["entity"]["nydfs_covered"] = True
    facts["decisions"] = {"reportable_cyber_incident": {"value": True, "by": "legal", "at": utc_z(now)}}
    facts["events"]["determined_at"] = utc_z(now - timedelta(hours=10))  # NYDFS 72 h: due in 62 h
    assessment_record(incident=incident, facts=facts, actor=LEGAL)
    client.force_login(make_user("legal", roles.LEGAL_DPO))
    page = client.get("/regulatory/due/")
    assert page.status_code == 200
    assert b"US-NYDFS-500.17" in page.content
    assert b"US-HIPAA-404" not in page.content  # 60 days away
    assert Obligation.objects.get(incident=incident, rule_id="US-HIPAA-404").status == "required"
    assert b"Due 72 h" in page.content  # in the navigation
