"""``manage.py audit_verify [BUNDLE]``: the chain in the database, or an exported bundle / case file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.offline_verifier import InputError, Report, report_lines, verify_evidence
from audit.signing import published_public_keys
from audit.verification import audit_verify_database


class Command(BaseCommand):
    help = "Verify the audit chain and its signed checkpoints (exit 1 naming each problem)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "bundle", nargs="?", type=Path, help="an exported bundle (JSON); case files: casefile_verify"
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["bundle"] is None:
            report, what = audit_verify_database(), "the database's chain"
        else:
            path: Path = options["bundle"]
            try:
                data = path.read_bytes()
                if data.startswith(b"%PDF"):
                    raise InputError(f"{path} is a case file: casefile_verify checks its signature, then its bundle")
                # The deployment's own keys are pinned: a bundle signed by another key does not verify here.
                report = verify_evidence(data, pinned_keys=published_public_keys(), where=str(path))
            except (InputError, OSError) as exc:
                raise CommandError(str(exc)) from None
            what = str(path)
        self._print(report, what, as_json=options["json"])
        if not report.ok:
            raise CommandError(f"NOT VERIFIED: {len(report.problems)} problem(s)", returncode=1)

    def _print(self, report: Report, what: str, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
            return
        if not report.checks:  # the database's chain
            self.stdout.write(
                f"{what}: {report.events} events (last {report.last_seq}), {report.checkpoints} checkpoints, "
                f"keys {', '.join(report.keys) or 'none'}"
            )
            for problem in report.problems:
                self.stdout.write(f"PROBLEM {problem}")
            if report.ok:
                self.stdout.write("VERIFIED")
            return
        lines = report_lines(report, what)
        for line in lines if report.ok else lines[:-1]:
            self.stdout.write(line)
