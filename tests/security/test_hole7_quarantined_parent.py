"""Hole 7: replacement keys sat under the compromised KEK, and new keys could be created under a
suspended or compromised parent and encrypt.

Wanted: a quarantined parent is refused (409; 404 outside incident response); replacements are wrapped
by the replacement KEK or a healthy one, never by a compromised key; the case file shows the new
hierarchy.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from incidents.models import Incident
from keyvault.models import ManagedKey
from tests.incidents.conftest import cloudevent, post_signal
from tests.security.helpers import create_key, encrypt, post
from webapp import roles

pytestmark = pytest.mark.django_db


def test_no_new_key_under_a_suspended_or_compromised_parent(detector, custodian, commander, application):
    kek = create_key(custodian, "platform-kek")
    assert post_signal(detector, cloudevent({"id": kek["id"]}, title="KEK in a paste")).status_code == 202
    for creator, expected in ((custodian, (409, "key_quarantined")), (application, (404, "key_not_found"))):
        response = post(creator, "/api/v1/keys/", {"alias": "sneaky", "purpose": "p", "parent": kek["id"]})
        assert (response.status_code, response.json()["code"]) == expected, response.json()
    assert not ManagedKey.objects.filter(alias="sneaky").exists()
    assert post(commander, f"/api/v1/keys/{kek['id']}/compromise", {"reason": "confirmed"}).status_code == 200
    response = post(custodian, "/api/v1/keys/", {"alias": "sneaky", "purpose": "p", "parent": kek["id"]})
    assert (response.status_code, response.json()["code"]) == (409, "key_quarantined")
    assert not ManagedKey.objects.filter(alias="sneaky").exists()


def test_replacements_are_wrapped_by_the_replacement_kek(detector, custodian, commander, application, client_as):
    from casefile.gather import case_data
    from incidents.services.playbook import incident_rewrap_plan

    kek = create_key(custodian, "platform-kek")
    dek = create_key(custodian, "payments-dek", parent=kek["id"])
    assert encrypt(application, dek["id"]).status_code == 200
    signal = post_signal(detector, cloudevent({"id": kek["id"]}, {"id": dek["id"]}, title="KEK and DEK leaked"))
    reference = signal.json()["incident"]
    assert post(commander, f"/api/v1/keys/{kek['id']}/compromise", {"reason": "confirmed"}).status_code == 200

    incident_rewrap_plan(reference=reference)  # the playbook's "replace" step

    responder = client_as(roles.SECURITY_LEAD)
    old_dek = responder.get(f"/api/v1/keys/{dek['id']}/").json()
    new_kek = ManagedKey.objects.get(replaces__id=kek["id"])
    new_dek = responder.get(f"/api/v1/keys/{old_dek['replaced_by']}/").json()
    assert new_dek["parent"] == str(new_kek.id) != kek["id"]  # not under the compromised KEK
    assert new_kek.state == "active"
    assert new_kek.parent_id is None
    assert encrypt(application, new_dek["id"]).status_code == 200

    incident = Incident.objects.get(reference=reference)
    section = case_data(incident, generated_by="auditor", now=timezone.now()).sections["key_hierarchy"]
    assert section is not None
    rows = {row[0]: row for row in section.rows}
    assert rows["payments-dek"][2] == "platform-kek"
    assert rows["payments-dek"][5].startswith(f"platform-kek ({str(new_kek.id)[:8]}, active)")
    assert "QUARANTINED" not in " ".join(" ".join(row) for row in section.rows)
