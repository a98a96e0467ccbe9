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


# The messages of an incident: the first notice, then follow-ups on later state changes.
KEY_STATUS = "key_status"
FOLLOW_UPS: dict[str, str] = {
    "restricted": "Follow-up {reference}: more keys restricted to decrypt-only",
    "replaced": "Follow-up {reference}: replacement keys in place",
    "closed": "Follow-up {reference}: the incident is closed",
}


def message_label(message: str) -> str:
    """``key_status`` → first notice; ``closed`` / ``replaced:ab12…`` → follow-up: closed."""
    kind = message.split(":", 1)[0]
    return "first notice" if kind == KEY_STATUS else f"follow-up: {kind}"
