"""``manage.py audit_export [--incident REF] -o FILE``: a bundle the offline verifier checks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.actors import Actor
from audit.bundles import BundleScope, NothingToExport, audit_bundle_write
from incidents.services.scopes import incident_audit_scope


class Command(BaseCommand):
    help = "Export the audit chain (or one incident's share of it) as a signed, verifiable bundle."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--incident", default="", help="an incident reference: its events, others redacted")
        parser.add_argument("-o", "--output", type=Path, default=None, help="the file to write (default: stdout)")

    def handle(self, *args: Any, **options: Any) -> None:
        scope = incident_audit_scope(options["incident"]) if options["incident"] else BundleScope()
        actor = Actor.system("audit_export")
        try:
            if options["output"] is None:
                summary = audit_bundle_write(out=sys.stdout, scope=scope, actor=actor)
            else:
                with options["output"].open("w", encoding="utf-8") as out:
                    summary = audit_bundle_write(out=out, scope=scope, actor=actor)
        except NothingToExport as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(
            f"exported events {summary.start_seq + 1} to {summary.end_seq}: {summary.events} "
            f"({summary.redacted} redacted), {summary.checkpoints} checkpoints"
        )
