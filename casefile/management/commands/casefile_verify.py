"""``manage.py casefile_verify CASE.pdf``: the PAdES signature, then the audit bundle attached inside."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.offline_verifier import InputError, read_bundle, verify_bundle
from audit.signing import public_key_raw
from casefile.signing import signature_check


class Command(BaseCommand):
    help = "Verify a case file: its signature (against the deployment's certificate) and its audit bundle."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("pdf", type=Path)
        parser.add_argument("--trust", default=None, help="trust root certificate (PEM/DER); default: the deployment's")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["pdf"]
        try:
            pdf = path.read_bytes()
            bundle = read_bundle(path)
        except (InputError, OSError) as exc:
            raise CommandError(str(exc)) from None
        signature = signature_check(pdf, trust_cert_file=options["trust"])
        self.stdout.write(
            f"signature: {'valid' if signature.ok else 'NOT VALID'}"
            + (f" — {signature.problem}" if signature.problem else "")
            + (f" (signed by {signature.signer} at {signature.signed_at})" if signature.signer else "")
        )
        report = verify_bundle(bundle, pinned_keys=[public_key_raw()])
        self.stdout.write(f"audit bundle: {report.events} events, {report.checkpoints} checkpoints")
        for problem in report.problems:
            self.stdout.write(f"PROBLEM {problem}")
        if not (signature.ok and report.ok):
            raise CommandError("NOT VERIFIED", returncode=1)
        self.stdout.write("VERIFIED")
