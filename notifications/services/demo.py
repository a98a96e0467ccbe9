"""Demo parties for `make run`: one per kind of audience, related to the demo estate (email and inbox;
webhooks need a receiver, so none here)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from keyvault.models import DataAsset, ManagedKey, System
from notifications.models import Channel, Contact, Party, PartyRole

DEMO_PARTIES: tuple[tuple[str, str, str, str], ...] = (
    # name, role, relation (key alias, system or data asset name), contact
    ("Acme HSM", PartyRole.HSM_VENDOR, "key:platform-kek", "psirt@acme-hsm.example"),
    ("OpenCrypt maintainers", PartyRole.CRYPTO_LIBRARY_MAINTAINER, "key:platform-kek", "security@opencrypt.example"),
    ("Nimbus Cloud", PartyRole.CLOUD_SERVICE_PROVIDER, "system:billing-db", "abuse@nimbus.example"),
    ("Shopfront Apps", PartyRole.APPLICATION_PROVIDER, "system:billing-db", "ops@shopfront.example"),
    ("Helio AI (customer)", PartyRole.AI_CUSTOMER, "asset:Customer prompts", "ciso@helio.example"),
    ("Data protection authority", PartyRole.REGULATOR, "asset:Card holder data", "breach@dpa.example"),
)


@transaction.atomic
def demo_parties_seed() -> list[Party]:
    """Create the demo parties once (nothing if a party exists or the demo estate is missing)."""
    if Party.objects.exists() or not ManagedKey.objects.filter(alias="platform-kek").exists():
        return []
    created = []
    for name, role, relation, email in DEMO_PARTIES:
        party = Party.objects.create(name=name, role=role, ack_sla_minutes=240, reminders=1)
        kind, _, target = relation.partition(":")
        if kind == "key":
            party.keys.set(ManagedKey.objects.filter(alias=target))
        elif kind == "system":
            party.systems.set(System.objects.filter(name=target))
        else:
            party.data_assets.set(DataAsset.objects.filter(name=target))
        Contact.objects.create(party=party, name=f"{name} security", email=email)
        Channel.objects.create(party=party, kind=Channel.Kind.EMAIL)
        created.append(party)
    team = Party.objects.create(
        name="Platform security team", kind=Party.Kind.TEAM, role=PartyRole.INTERNAL_TEAM, every_incident=True
    )
    team.members.set(get_user_model().objects.filter(groups__name__in=["commander", "security_lead"]))
    Channel.objects.create(party=team, kind=Channel.Kind.INBOX)
    created.append(team)
    return created
