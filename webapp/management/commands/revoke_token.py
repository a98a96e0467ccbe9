"""``manage.py revoke_token PREFIX``: revoke an API token at once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from webapp.errors import DomainError
from webapp.services.api_tokens import api_token_revoke


class Command(BaseCommand):
    help = "Revoke the API token with this prefix (the public part shown when it was issued)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            token = api_token_revoke(prefix=options["prefix"])
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Revoked {token.prefix} ({token.name}) of {token.user.get_username()}.")
