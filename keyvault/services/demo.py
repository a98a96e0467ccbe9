"""Demo keys for `make run`: a small estate with a key hierarchy, systems, data and AI stores."""

from __future__ import annotations

from django.db import transaction

from audit.actors import Actor
from keyvault.models import DataAsset, ManagedKey, System
from keyvault.services.lifecycle import key_create


@transaction.atomic
def demo_keys_seed() -> list[ManagedKey]:
    """Create the demo estate once (nothing if any key exists)."""
    if ManagedKey.objects.exists():
        return []
    actor = Actor.system("demo-seed")
    billing = System.objects.create(name="billing-db", owner="Payments team")
    ml = System.objects.create(name="ml-platform", owner="AI platform team")
    logs = System.objects.create(name="log-archive", owner="SRE")
    cards = DataAsset.objects.create(
        name="Card holder data",
        system=billing,
        data_categories=["payment", "personal_data"],
        record_count=48_000,
        jurisdictions=["EU", "DE", "US-CA"],
    )
    prompts = DataAsset.objects.create(
        name="Customer prompts",
        system=ml,
        data_categories=["personal_data"],
        record_count=1_200_000,
        jurisdictions=["EU", "US"],
    )
    weights = DataAsset.objects.create(
        name="Fine-tuned model weights",
        system=ml,
        data_categories=["trade_secret"],
        record_count=3,
        jurisdictions=["EU"],
    )
    archive = DataAsset.objects.create(
        name="Access logs",
        system=logs,
        data_categories=["personal_data"],
        record_count=9_000_000,
        jurisdictions=["EU"],
    )
    kek = key_create(actor=actor, alias="platform-kek", purpose="Key-encryption key of the data platform")
    keys = [
        kek,
        key_create(
            actor=actor,
            alias="payments",
            purpose="Card data at rest",
            parent_id=kek.id,
            data_asset_ids=[cards.id],
            system_ids=[billing.id],
        ),
        key_create(
            actor=actor,
            alias="prompt-store",
            purpose="Customer prompts",
            parent_id=kek.id,
            ai_category="prompt_store",
            data_asset_ids=[prompts.id],
            system_ids=[ml.id],
        ),
        key_create(
            actor=actor,
            alias="model-weights",
            purpose="Model weights",
            parent_id=kek.id,
            ai_category="model_weights",
            data_asset_ids=[weights.id],
            system_ids=[ml.id],
        ),
        key_create(
            actor=actor, alias="log-archive", purpose="Log archive", data_asset_ids=[archive.id], system_ids=[logs.id]
        ),
    ]
    return keys
