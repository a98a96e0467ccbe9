"""``manage.py add_webhook_source NAME --kind github --owner TEAM``: a detector allowed to post to
/api/v1/webhooks/NAME (or a new secret for it). Audited: the case file shows the configuration in force."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.actors import Actor
from incidents.models import WebhookSource
from incidents.services.detection import webhook_source_configure


class Command(BaseCommand):
    help = "Create (or rotate the secret of) a webhook source; the HMAC secret is printed once."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name")
        parser.add_argument("--kind", choices=WebhookSource.Kind.values, default=WebhookSource.Kind.GENERIC)
        parser.add_argument("--owner", default="", help="who runs this detector (shown to auditors)")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"]
        if not name.replace("-", "").replace("_", "").isalnum():
            raise CommandError("a source name holds letters, digits, '-' and '_'")
        _, secret = webhook_source_configure(
            name=name, kind=options["kind"], owner=options["owner"], actor=Actor.system("add_webhook_source")
        )
        self.stderr.write(
            f"Webhook source {name} ({options['kind']}): POST /api/v1/webhooks/{name}, HMAC-SHA256 secret:"
        )
        self.stdout.write(secret)
