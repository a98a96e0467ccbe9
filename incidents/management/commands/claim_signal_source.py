"""``manage.py claim_signal_source PREFIX --principal siem-detector`` (or ``--webhook scanner``): the
CloudEvents ``source`` PREFIX (and everything below it) belongs to that sender from now on; nobody else
may send signals naming it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.actors import Actor
from incidents.errors import SourceClaimConflict
from incidents.models import WebhookSource
from incidents.senders import Sender
from incidents.services.sources import source_claim


class Command(BaseCommand):
    help = "Give a service account (or a webhook source) a CloudEvents source prefix it alone may send."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("prefix", help="e.g. https://scanner.example or siem/prod")
        owner = parser.add_mutually_exclusive_group(required=True)
        owner.add_argument("--principal", help="the service account (or person) that posts to /api/v1/signals/")
        owner.add_argument("--webhook", help="the webhook source that posts to /api/v1/webhooks/NAME")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["webhook"]:
            source = WebhookSource.objects.filter(name=options["webhook"]).first()
            if source is None:
                raise CommandError(f"no webhook source {options['webhook']!r}")
            owner = Sender.webhook(source.name, source.kind)
        else:
            owner = Sender.principal(options["principal"])
        try:
            claim = source_claim(prefix=options["prefix"], owner=owner, actor=Actor.system("cli"))
        except SourceClaimConflict as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"{claim.prefix} belongs to {claim.owner}")
