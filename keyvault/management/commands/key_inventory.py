"""``manage.py key_inventory --format csv|json [-o FILE]``: every key with its state, for sampling."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from audit.actors import Actor
from keyvault.services.inventory import FORMATS, key_inventory_write


class Command(BaseCommand):
    help = "Export the key inventory (quarantined keys included, no key material) as CSV or JSON."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--format", choices=FORMATS, default="csv")
        parser.add_argument("-o", "--output", type=Path, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor.system("key_inventory")
        if options["output"] is None:
            count = key_inventory_write(out=sys.stdout, format=options["format"], actor=actor)
        else:
            with options["output"].open("w", encoding="utf-8", newline="") as out:
                count = key_inventory_write(out=out, format=options["format"], actor=actor)
        self.stderr.write(f"{count} key(s) exported")
