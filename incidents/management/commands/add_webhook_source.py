"""``manage.py add_webhook_source NAME --kind github``: a detector allowed to post to /api/v1/webhooks/NAME."""

from __future__ import annotations

import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from incidents.models import WebhookSource
from incidents.webhooks import webhook_secret_seal


class Command(BaseCommand):
    help = "Create (or rotate the secret of) a webhook source; the HMAC secret is printed once."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name")
        parser.add_argument("--kind", choices=WebhookSource.Kind.values, default=WebhookSource.Kind.GENERIC)

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"]
        if not name.replace("-", "").replace("_", "").isalnum():
            raise CommandError("a source name holds letters, digits, '-' and '_'")
        secret = secrets.token_hex(32)
        WebhookSource.objects.update_or_create(
            name=name,
            defaults={
                "kind": options["kind"],
                "secret_sealed": webhook_secret_seal(name, secret.encode()),
                "active": True,
            },
        )
        self.stderr.write(
            f"Webhook source {name} ({options['kind']}): POST /api/v1/webhooks/{name}, HMAC-SHA256 secret:"
        )
        self.stdout.write(secret)
