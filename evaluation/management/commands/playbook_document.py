"""``manage.py playbook_document --format md|pdf [--playbook-version N] [--output FILE]``: the procedure as it runs
(or a published version as it was frozen), as Markdown or as a signed PDF/A."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from evaluation.documents import playbook_pdf
from evaluation.models import PlaybookVersion
from evaluation.services import playbook


class Command(BaseCommand):
    help = "Render the incident-response procedure (the playbook) as Markdown or as a signed PDF/A."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--format", choices=["md", "pdf"], default="md")
        parser.add_argument(
            "--playbook-version",
            dest="playbook_version",
            type=int,
            default=None,
            help="a published version; default: as it runs",
        )
        parser.add_argument("--output", "-o", type=Path, default=None, help="default: standard output (md only)")

    def handle(self, *args: Any, **options: Any) -> None:
        version = None
        if options["playbook_version"] is not None:
            version = PlaybookVersion.objects.filter(number=options["playbook_version"]).first()
            if version is None:
                raise CommandError(f"no playbook version {options['version']}")
        output: Path | None = options["output"]
        if options["format"] == "md":
            text = version.markdown if version else playbook.procedure_markdown(playbook.procedure_content())
            if output is None:
                self.stdout.write(text, ending="")
            else:
                output.write_text(text, encoding="utf-8")
            return
        if output is None:
            raise CommandError("a PDF needs --output FILE")
        output.write_bytes(playbook_pdf(version))
        self.stdout.write(f"wrote {output}")
