"""The party registry: the blast radius selects parties; admin changes go into the audit chain."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client

from audit.models import AuditEvent
from notifications.audiences import SUBJECTS, audience_of
from notifications.models import Party, PartyRole
from notifications.selectors import parties_for_incident

pytestmark = pytest.mark.django_db


def test_the_blast_radius_selects_parties_by_key_system_and_data_asset(case):
    assert [p.name for p in parties_for_incident(case.incident)] == ["Acme HSM", "Beta AI Customer", "Shop Apps"]
    always = Party.objects.create(name="National CSIRT", role=PartyRole.REGULATOR, every_incident=True)
    Party.objects.create(name="Retired Vendor", role=PartyRole.HSM_VENDOR, active=False).keys.add(case.key)
    assert always in parties_for_incident(case.incident)
    assert "Retired Vendor" not in [p.name for p in parties_for_incident(case.incident)]


@pytest.mark.parametrize(
    ("role", "audience"),
    [
        (PartyRole.CLOUD_SERVICE_PROVIDER, "upstream"),
        (PartyRole.MODEL_PROVIDER, "upstream"),
        (PartyRole.HSM_VENDOR, "upstream"),
        (PartyRole.CRYPTO_LIBRARY_MAINTAINER, "upstream"),
        (PartyRole.ORCHESTRATED_SERVICE_PROVIDER, "downstream"),
        (PartyRole.APPLICATION_PROVIDER, "downstream"),
        (PartyRole.AI_CUSTOMER, "downstream"),
        (PartyRole.REGULATOR, "regulator"),
        (PartyRole.INTERNAL_TEAM, "internal"),
    ],
)
def test_each_shared_responsibility_role_gets_its_audiences_message(role, audience):
    """Every role of the shared-responsibility model is a party someone can register, and it decides which
    message the party is sent: upstream providers are asked to check their side, consumers are told the
    key no longer encrypts, regulators are notified."""
    party = Party(name=f"A {role.label}", role=role)
    party.full_clean()
    assert audience_of(party.role) == audience
    assert SUBJECTS[audience_of(party.role)].format(reference="INC-1").startswith("Key compromise INC-1: ")


def test_a_role_outside_the_model_is_refused():
    with pytest.raises(ValidationError) as refused:
        Party(name="Somebody", role="friend").full_clean()
    assert "role" in refused.value.message_dict


def _inline_management(prefix: str) -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": "0",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def test_adding_a_party_in_the_admin_is_audited(case):
    admin = User.objects.create_superuser("root", "root@example.test", "pw")
    client = Client()
    client.force_login(admin)
    data = {
        "name": "Gamma Cloud",
        "kind": "organisation",
        "role": PartyRole.CLOUD_SERVICE_PROVIDER,
        "ack_sla_minutes": "120",
        "reminders": "2",
        "systems": [str(case.key.systems.get().pk)],
        "active": "on",
        **_inline_management("contacts"),
        **_inline_management("channels"),
    }
    response = client.post("/admin/notifications/party/add/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.get(action="notification.party_created")
    assert event.actor == "root"
    assert event.data["systems"] == ["billing-api"]
    assert event.data["reminders"] == 2


def test_a_new_webhook_secret_is_shown_once_and_stored_sealed(case):
    from notifications.models import Channel
    from notifications.services.secrets import channel_secret

    admin = User.objects.create_superuser("root", "root@example.test", "pw")
    client = Client()
    client.force_login(admin)
    channel = Channel.objects.get(party=case.vendor, kind="webhook")
    old = channel_secret(channel)
    response = client.post(
        "/admin/notifications/channel/", {"action": "rotate_secret", "_selected_action": [str(channel.pk)]}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    channel.refresh_from_db()
    new = channel_secret(channel)
    assert new != old
    assert new.startswith("whsec_")
    assert new in response.content.decode()
    assert new.encode() not in bytes(channel.secret_sealed)
    assert not [c for c in response.cookies.values() if new in c.value]
    event = AuditEvent.objects.filter(action="notification.webhook_secret_rotated").last()
    assert event is not None
    assert event.actor == "root"
    assert new not in str(event.data)


def test_the_demo_parties_are_selected_by_the_demo_estate(db, commander):
    from keyvault.services.demo import demo_keys_seed
    from notifications.services.demo import demo_parties_seed

    assert demo_parties_seed() == []  # no demo estate yet
    demo_keys_seed()
    parties = demo_parties_seed()
    assert {p.role for p in parties} >= {"hsm_vendor", "crypto_library", "csp", "application_provider", "ai_customer"}
    assert demo_parties_seed() == []  # once
    team = Party.objects.get(role="internal_team")
    assert list(team.members.all()) == [commander]
