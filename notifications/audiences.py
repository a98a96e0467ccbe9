"""Who needs which message: upstream providers, downstream consumers, regulators, internal teams."""

from __future__ import annotations

from notifications.models import PartyRole

UPSTREAM, DOWNSTREAM, REGULATOR, INTERNAL = "upstream", "downstream", "regulator", "internal"

AUDIENCE_OF_ROLE: dict[str, str] = {
    PartyRole.CLOUD_SERVICE_PROVIDER: UPSTREAM,
    PartyRole.MODEL_PROVIDER: UPSTREAM,
    PartyRole.HSM_VENDOR: UPSTREAM,
    PartyRole.CRYPTO_LIBRARY_MAINTAINER: UPSTREAM,
    PartyRole.ORCHESTRATED_SERVICE_PROVIDER: DOWNSTREAM,
    PartyRole.APPLICATION_PROVIDER: DOWNSTREAM,
    PartyRole.AI_CUSTOMER: DOWNSTREAM,
    PartyRole.REGULATOR: REGULATOR,
    PartyRole.INTERNAL_TEAM: INTERNAL,
}

SUBJECTS: dict[str, str] = {
    UPSTREAM: "Key compromise {reference}: please check your side and coordinate containment",
    DOWNSTREAM: "Key compromise {reference}: keys you rely on no longer encrypt",
    REGULATOR: "Key compromise {reference}: notification of a cryptographic key compromise",
    INTERNAL: "Key compromise {reference}: your systems are in the blast radius",
}

PURPOSE_PREFIX = {"initial": "", "reminder": "Reminder: ", "escalation": "ESCALATED: "}


def audience_of(role: str) -> str:
    return AUDIENCE_OF_ROLE[role]
