"""``manage.py audit_checkpoint``: sign the chain's head now (beat does it every few minutes)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from audit.checkpoints import audit_checkpoint_create


class Command(BaseCommand):
    help = "Sign the audit chain's current head with the deployment's Ed25519 key."

    def handle(self, *args: Any, **options: Any) -> None:
        checkpoint = audit_checkpoint_create()
        if checkpoint is None:
            self.stdout.write("the audit trail is empty: nothing to sign")
        else:
            self.stdout.write(
                f"checkpoint at event {checkpoint.seq} ({checkpoint.head_hash[:16]}…), key {checkpoint.key_id}"
            )
