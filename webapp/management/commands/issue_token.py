"""``manage.py issue_token NAME``: an API token for a service account, printed once."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from webapp.errors import DomainError
from webapp.services.api_tokens import api_token_issue


class Command(BaseCommand):
    help = "Issue a bearer token for a service account (created if needed). The token is printed once."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("service_account", help="Service account name, e.g. siem-detector.")
        parser.add_argument("--name", default="", help="What the token is for (default: the account name).")
        parser.add_argument("--days", type=int, default=None, help="Validity in days (SEQUESTER_API_TOKEN_DAYS).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            issued = api_token_issue(
                service_account=options["service_account"],
                name=options["name"] or options["service_account"],
                valid_days=options["days"] or settings.SEQUESTER_API_TOKEN_DAYS,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stderr.write(
            f"Token {issued.token.prefix} for {issued.token.user.get_username()}, valid until "
            f"{issued.token.expires_at:%Y-%m-%d}. Send it as 'Authorization: Bearer <token>':"
        )
        self.stdout.write(issued.secret)
