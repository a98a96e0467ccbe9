"""``manage.py verify_decision ID``: re-check a stored decision from its evidence."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from approvals.models import Decision
from approvals.verification import decision_verify


class Command(BaseCommand):
    help = (
        "Re-check a decision: document hash, request payload hash, and its step-up — a WebAuthn assertion "
        "signature is verified again; a TOTP code was checked at decision time and cannot be re-verified."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("decision_id")

    def handle(self, *args: Any, **options: Any) -> None:
        decision = (
            Decision.objects.select_related("request", "approver", "credential")
            .filter(id=options["decision_id"])
            .first()
        )
        if decision is None:
            raise CommandError(f"no decision {options['decision_id']}")
        report = decision_verify(decision)
        for name, ok, detail in report.checks:
            self.stdout.write(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")
        if report.statement:
            self.stdout.write(report.statement)
        if not report.ok:
            raise CommandError(f"decision {decision.id} does NOT verify")
        who = f"{decision.verdict} by {decision.approver.get_username()}"
        if report.reverified:
            self.stdout.write(f"decision {decision.id} verifies, its signature included ({who})")
        else:
            self.stdout.write(
                f"decision {decision.id}: the record is consistent ({who}); its TOTP code was checked at decision "
                "time and cannot be re-verified"
            )
