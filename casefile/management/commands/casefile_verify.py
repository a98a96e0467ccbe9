"""``manage.py casefile_verify CASE.pdf``: what ``offline_verifier.py`` checks — the same code — with the
deployment's published trust anchors: the signature against the case-file certificates (current and
previous), its timestamp, then the attached audit bundle against the checkpoint keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.offline_verifier import InputError, read_certificates, report_lines, verify_evidence
from audit.signing import published_public_keys
from casefile.certificates import casefile_trust_anchors, tsa_trust_anchors


class Command(BaseCommand):
    help = "Verify a case file: its signature (against the published certificates), timestamp and audit bundle."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("pdf", type=Path)
        parser.add_argument(
            "--trust", default=None, help="trust anchor certificate (PEM/DER) instead of the published ones"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["pdf"]
        try:
            data = path.read_bytes()
            trust = (
                read_certificates(Path(options["trust"]).read_bytes()) if options["trust"] else casefile_trust_anchors()
            )
            if not data.startswith(b"%PDF"):
                raise InputError(f"{path}: not a PDF (use audit_verify for a bundle)")
            report = verify_evidence(
                data,
                certificates=trust,
                tsa_certificates=tsa_trust_anchors(),
                pinned_keys=published_public_keys(),
                where=str(path),
            )
        except (InputError, OSError) as exc:
            raise CommandError(str(exc)) from None
        for line in report_lines(report, str(path))[:-1]:
            self.stdout.write(line)
        if not report.ok:
            raise CommandError(f"NOT VERIFIED: {len(report.problems)} problem(s)", returncode=1)
        self.stdout.write("VERIFIED")
