"""``manage.py seed_demo``: one demo person per role, created once; passwords printed only then."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from webapp.services.demo import demo_users_seed


class Command(BaseCommand):
    help = "Create the demo users (one per role) that do not exist yet and print their passwords once."

    def handle(self, *args: Any, **options: Any) -> None:
        created = demo_users_seed()
        if not created:
            self.stdout.write("Demo users already exist (their passwords were shown when they were created).")
            return
        self.stdout.write("Demo users created. These passwords are shown this once; note them now:")
        for account in created:
            self.stdout.write(f"  {account.username:<15} {account.password:<20} {account.role_label}")
