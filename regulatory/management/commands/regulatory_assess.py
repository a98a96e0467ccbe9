"""``manage.py regulatory_assess FACTS.json``: print ``{"obligations": [...]}`` for the facts (``-`` = stdin).

A bad input prints ``{"error": {"code", "message", ...}}`` on stderr and exits with status 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from regulatory.services.catalogue import facts_decode, obligations_compute, obligations_document
from webapp.errors import DomainError

EXIT_BAD_INPUT = 2


class Command(BaseCommand):
    help = "Assess regulatory obligations from a facts file (docs/regulatory-facts.md) and print them as JSON."
    # A computation from a file: no URL, model or deployment check concerns it (``manage.py check`` and the
    # servers run them). Skipping them spares every call the import of every view of the project.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("facts", help="path of the facts JSON file, or - for standard input")
        parser.add_argument("--compact", action="store_true", help="one line of JSON instead of indented")

    def _fail(self, code: str, message: str, **details: Any) -> CommandError:
        self.stderr.write(json.dumps({"error": {"code": code, "message": message, **details}}, ensure_ascii=False))
        return CommandError(f"{code}: {message}", returncode=EXIT_BAD_INPUT)

    def handle(self, *args: Any, **options: Any) -> None:
        source = options["facts"]
        try:
            text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise self._fail("facts_unreadable", f"cannot read {source}: {exc}") from None
        try:
            obligations = obligations_compute(raw_facts=facts_decode(text), as_of=timezone.now())
        except DomainError as exc:
            raise self._fail(exc.code, exc.message, **{k: str(v) for k, v in exc.details.items()}) from None
        document = obligations_document(obligations)
        self.stdout.write(json.dumps(document, ensure_ascii=False, indent=None if options["compact"] else 2))
