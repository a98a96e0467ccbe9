"""``manage.py period_report --since DATE --until DATE --format pdf|oscal|csv --output FILE``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.actors import Actor
from evaluation.services.reports import period_export
from webapp.errors import DomainError


class Command(BaseCommand):
    help = "The control's period report: a signed PDF/A, OSCAL assessment-results, or CSV (one row per incident)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--since", type=date.fromisoformat, required=True, help="first day (YYYY-MM-DD, UTC)")
        parser.add_argument("--until", type=date.fromisoformat, required=True, help="last day, included")
        parser.add_argument("--format", choices=["pdf", "oscal", "csv"], default="pdf")
        parser.add_argument("--output", "-o", type=Path, required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            body = period_export(
                since=options["since"],
                until=options["until"],
                fmt=options["format"],
                actor=Actor.system("period_report"),
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        options["output"].write_bytes(body)
        self.stdout.write(f"wrote {options['output']} ({len(body):,} bytes)")
