"""``manage.py run_drill [--severity high]``: start a drill now (canary keys, the real playbook)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from audit.actors import Actor
from evaluation.models import Drill
from evaluation.services.drills import drill_start
from incidents.models import Severity


class Command(BaseCommand):
    help = "Start a drill: canary keys reported compromised, the real playbook as an exercise."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--severity", choices=Severity.values, default=Severity.HIGH)

    def handle(self, *args: Any, **options: Any) -> None:
        drill = drill_start(
            actor=Actor.system("run_drill"),
            via=Drill.Via.CLI,
            started_by="manage.py run_drill",
            severity=options["severity"],
        )
        incident = drill.incident.reference if drill.incident else "?"
        self.stdout.write(
            f"drill {drill.id}: exercise {incident} on canary keys {', '.join(drill.canary_keys)}; "
            f"gate probe: {drill.gate_detail}"
        )
