"""The organisation profile: the legal entities and their roles, kept once for every assessment.

Administrators publish versions (never edit one); each version is validated with the facts schema and
recorded on the audit trail with what changed. Assessments pre-fill their entity facts from the current
version (``assessment_prefill``) and name the version they used."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.actors import Actor
from audit.services import audit_record
from regulatory.errors import FactsInvalid
from regulatory.facts import facts_parse
from regulatory.facts_diff import facts_diff
from regulatory.models import OrganisationProfile
from regulatory.services.catalogue import catalogue_get

PROFILE_FIELDS_EXCLUDED = ("events", "informed_by", "agent")  # per incident, never in the profile


def profile_current() -> OrganisationProfile | None:
    return OrganisationProfile.objects.order_by("-version").first()


def profile_facts(profile: OrganisationProfile) -> dict[str, Any]:
    """The profile as facts: the principal entity, the others, and the deadline zone."""
    entities = [dict(e) for e in profile.entities]
    facts: dict[str, Any] = {"deadline_tz": profile.deadline_tz, "entity": entities[0] if entities else {}}
    if len(entities) > 1:
        facts["entities"] = entities[1:]
    return facts


def _validate(entities: Any, deadline_tz: str) -> list[dict[str, Any]]:
    if not isinstance(entities, list) or not entities:
        raise FactsInvalid("the profile lists at least one legal entity", field="entities")
    for index, entity in enumerate(entities):
        where = "entity" if index == 0 else f"entities[{index - 1}]"
        if not isinstance(entity, dict):
            raise FactsInvalid(f"{where}: expected an object", field=where)
        if not str(entity.get("id", "")).strip() or not str(entity.get("name", "")).strip():
            raise FactsInvalid(f"{where}: each legal entity has an id and a name", field=f"{where}.id")
        for key in PROFILE_FIELDS_EXCLUDED:
            if key in entity:
                raise FactsInvalid(
                    f"{where}.{key}: set per incident in the assessment, not in the profile", field=where
                )
    facts = {"deadline_tz": deadline_tz, "entity": entities[0], "entities": entities[1:]}
    facts_parse(facts, catalogue_get())  # the same schema as the assessments': errors name the field
    return [dict(e) for e in entities]


@transaction.atomic
def profile_publish(*, entities: Any, deadline_tz: str, actor: Actor, note: str = "") -> OrganisationProfile:
    """Validate and publish the next version of the profile; audited with what changed."""
    checked = _validate(entities, deadline_tz)
    previous = OrganisationProfile.objects.select_for_update().order_by("-version").first()
    before = {"deadline_tz": previous.deadline_tz, "entities": previous.entities} if previous else None
    after = {"deadline_tz": deadline_tz, "entities": checked}
    changes = facts_diff(before, after)
    profile = OrganisationProfile.objects.create(
        version=(previous.version + 1) if previous else 1,
        entities=checked,
        deadline_tz=deadline_tz,
        note=note.strip(),
        recorded_by=actor.name,
        recorded_at=timezone.now(),
    )
    audit_record(
        action="regulatory.profile_published",
        actor=actor,
        subject_type="organisation_profile",
        subject_id=f"v{profile.version}",
        reason=note.strip() or f"organisation profile v{profile.version}",
        data={"version": profile.version, "entities": [e["id"] for e in checked], "changes": changes[:100]},
    )
    return profile


# Every entity fact stated as "no": what a profile says about an entity that is none of these things.
ENTITY_NOTHING: dict[str, Any] = {
    "roles": [],
    "establishments": [],
    "nis2": "none",
    "trust_service_provider": False,
    "dora": "none",
    "hipaa": "none",
    "sec_registrant": False,
    "sec_reg_sp": "none",
    "sec_reg_sp_service_provider": False,
    "circia_covered": False,
    "fedramp": "none",
    "bank": False,
    "bank_service_provider": False,
    "nydfs_covered": False,
    "ftc_safeguards": False,
    "public_electronic_communications": False,
    "card_brands": [],
    "small_processing_agent": False,
    "cn_operator": "other",
}
DEMO_PROFILE: list[dict[str, Any]] = [
    {
        "id": "sequester-demo-eu",
        "name": "Sequester Demo GmbH",
        **ENTITY_NOTHING,
        "roles": ["controller"],
        "establishments": ["DE"],
        "member_state": "DE",
        "nis2": "important",
        "sector": "digital infrastructure",
        "card_brands": ["visa", "mastercard"],
    }
]


def demo_profile_seed() -> OrganisationProfile | None:
    """``make run``: a demo profile once (a German controller accepting cards), so that the demo incident
    shows GDPR Art 33 at once. Nothing if a profile exists."""
    if OrganisationProfile.objects.exists():
        return None
    return profile_publish(
        entities=DEMO_PROFILE,
        deadline_tz="Europe/Berlin",
        actor=Actor.system("demo-seed"),
        note="demo organisation profile",
    )
