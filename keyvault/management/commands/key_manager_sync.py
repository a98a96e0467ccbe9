"""``manage.py key_manager_sync NAME`` (or ``--all``): import and sync a key manager's inventory."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.actors import Actor
from keyvault.models import KeyManager
from keyvault.services.managers import key_manager_sync
from webapp.errors import DomainError


class Command(BaseCommand):
    help = "Import a key manager's keys and report keys that vanished or changed outside Sequester."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("names", nargs="*", help="key manager names (default: all)")

    def handle(self, *args: Any, **options: Any) -> None:
        names = options["names"] or list(KeyManager.objects.values_list("name", flat=True))
        failed: list[str] = []
        for name in names:
            try:
                report = key_manager_sync(name=name, actor=Actor.system("manage.py key_manager_sync"))
            except DomainError as exc:
                self.stderr.write(f"{name}: {exc.code}: {exc.message}")
                failed.append(f"{name} ({exc.code})")
                continue
            self.stdout.write(
                f"{name}: {len(report.imported)} imported, {len(report.new_versions)} with new versions, "
                f"{len(report.changed)} changed, {len(report.vanished)} vanished, {report.unchanged} unchanged"
            )
            for line in report.new_versions:
                self.stdout.write(f"  new versions: {line}")
            for change in report.changed:
                self.stdout.write(f"  changed outside Sequester: {change['key']}: {change['change']}")
            for ref in report.vanished:
                self.stdout.write(f"  vanished: {ref}")
        if failed:
            raise CommandError(f"could not sync: {', '.join(failed)}")
