"""``manage.py verify_restrictions``: the periodic drift check, on demand."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from audit.actors import Actor
from keyvault.services.restriction import restrictions_verify_all


class Command(BaseCommand):
    help = "Re-verify that every suspended, deactivated or compromised key is decrypt-only on its backend."

    def handle(self, *args: Any, **options: Any) -> None:
        findings = restrictions_verify_all(actor=Actor.system("restriction-check"))
        for finding in findings:
            state = "repaired" if finding.repaired else "NOT repaired"
            self.stdout.write(f"drift on {finding.key_id} ({finding.backend}): {finding.versions} -> {state}")
        self.stdout.write(f"{len(findings)} key(s) had drifted")
