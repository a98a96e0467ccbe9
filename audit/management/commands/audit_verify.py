"""``manage.py audit_verify [BUNDLE]``: the chain in the database, or an exported bundle / case file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.offline_verifier import InputError, Report, read_bundle, verify_bundle
from audit.signing import public_key_raw
from audit.verification import audit_verify_database


class Command(BaseCommand):
    help = "Verify the audit chain and its signed checkpoints (exit 1 naming each problem)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("bundle", nargs="?", type=Path, help="an exported bundle (JSON) or a case file (PDF)")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["bundle"] is None:
            report, what = audit_verify_database(), "the database's chain"
        else:
            try:
                bundle = read_bundle(options["bundle"])
            except (InputError, OSError) as exc:
                raise CommandError(str(exc)) from None
            # The deployment's own key is pinned: a bundle signed by another key does not verify here.
            report, what = verify_bundle(bundle, pinned_keys=[public_key_raw()]), str(options["bundle"])
        self._print(report, what, as_json=options["json"])
        if not report.ok:
            raise CommandError(f"NOT VERIFIED: {len(report.problems)} problem(s)", returncode=1)

    def _print(self, report: Report, what: str, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
            return
        self.stdout.write(
            f"{what}: {report.events} events (last {report.last_seq}), {report.checkpoints} checkpoints, "
            f"keys {', '.join(report.keys) or 'none'}"
        )
        for problem in report.problems:
            self.stdout.write(f"PROBLEM {problem}")
        if report.ok:
            self.stdout.write("VERIFIED")
