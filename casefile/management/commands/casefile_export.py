"""``manage.py casefile_export INC-… -o FILE``: render and sign a case file now, without a worker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from audit.actors import Actor
from casefile.services import casefile_build
from incidents.services.incidents import incident_get


class Command(BaseCommand):
    help = "Render an incident's signed PDF/A-3 case file (with its evidence attached) to a file."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("reference")
        parser.add_argument("-o", "--output", type=Path, required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        incident = incident_get(options["reference"])

        def progress(percent: int, stage: str) -> None:
            self.stderr.write(f"{percent:3d}% {stage}")

        pdf, pages, events = casefile_build(incident, actor=Actor.system("casefile_export"), progress=progress)
        options["output"].write_bytes(pdf)
        self.stdout.write(f"{options['output']}: {pages} pages, {events} audit events, {len(pdf):,} bytes, signed")
