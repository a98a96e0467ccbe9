"""The incident page as the commander reads it: the replacement by its alias, a timeline in words, and
flash messages that say what happened."""

from __future__ import annotations

import pytest
from django.urls import reverse

from incidents.models import Incident
from keyvault.services import lifecycle
from keyvault.states import KeyState
from tests.incidents.conftest import cloudevent, post_signal
from tests.keyvault.conftest import SYSTEM, make_key
from webapp import roles

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(detector) -> Incident:
    key, _ = make_key("local", KeyState.ACTIVE, alias="payments")
    reference = post_signal(detector, cloudevent({"id": str(key.id)})).json()["incident"]
    return Incident.objects.get(reference=reference)


def test_replaced_by_names_the_replacement_by_its_alias(client, make_user, incident):
    key = incident.incident_keys.get().key
    lifecycle.key_compromise(key_id=key.id, actor=SYSTEM, reason="confirmed", incident=incident.reference)
    replacement = lifecycle.key_replace(key_id=key.id, actor=SYSTEM, reason="replacement", incident=incident.reference)
    client.force_login(make_user("cmdr-ui", roles.COMMANDER))
    live = client.get(reverse("incident-live", args=[incident.reference])).content.decode()
    link = f'<a href="{reverse("key-page", args=[replacement.id])}">{replacement.alias}</a>'
    assert link in live
    assert ">replacement</a>" not in live


def test_timeline_rows_say_what_happened(client, make_user, incident):
    from incidents.services.playbook import incident_set_step

    incident_set_step(reference=incident.reference, step="confirm")
    client.force_login(make_user("cmdr-ui", roles.COMMANDER))
    live = client.get(reverse("incident-live", args=[incident.reference])).content.decode()
    assert "Step Confirm" in live
    assert "Contain done (the named keys (and every key they wrapped) suspended at once" in live
    assert "Now: the quorum decides: compromised, or a false positive" in live
    assert "Key suspended" in live
    assert "Incident opened" in live


def test_flash_messages_say_what_happened(client, make_user, incident):
    client.force_login(make_user("cmdr-ui", roles.COMMANDER))
    page_url = reverse("incident-page", args=[incident.reference])
    note = client.post(reverse("incident-action", args=[incident.reference, "note"]), {"text": "seen"}, follow=True)
    assert "Note added to the timeline." in note.content.decode()
    severity = client.post(
        reverse("incident-action", args=[incident.reference, "severity"]),
        {"severity": "critical", "reason": "customer data"},
        follow=True,
    )
    assert "Severity is now Critical." in severity.content.decode()
    extra, _ = make_key("local", KeyState.ACTIVE, alias="billing")
    added = client.post(
        reverse("incident-action", args=[incident.reference, "keys"]), {"keys": [str(extra.id)], "reason": "same host"}
    )
    assert added["Location"] == page_url
    assert "Added and contained (suspended): billing." in client.get(page_url).content.decode()
    assert "Done." not in client.get(page_url).content.decode()


def test_pending_approvals_are_named_in_words(client, people, incident):
    from approvals import policies
    from tests.approvals.conftest import open_request

    key = incident.incident_keys.get().key
    open_request(
        policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(key.id)]}, incident=incident.reference
    )
    client.force_login(people[roles.COMMANDER])
    live = client.get(reverse("incident-live", args=[incident.reference])).content.decode()
    assert "Confirm the compromise</a>: still 1 of Security lead and 1 of Key custodian" in live
    inbox = client.get(reverse("approvals-inbox")).content.decode()
    assert ">Confirm the compromise</a>" in inbox
