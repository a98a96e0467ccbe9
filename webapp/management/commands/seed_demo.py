"""``manage.py seed_demo``: one demo person per role, created once; passwords printed only then."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from keyvault.services.demo import demo_keys_seed
from notifications.services.demo import demo_parties_seed
from regulatory.services.profile import demo_profile_seed
from webapp.services.demo import demo_users_seed


class Command(BaseCommand):
    help = (
        "Create the demo estate (keys, systems, data, parties to notify, the organisation profile) and one user "
        "per role, once; "
        "passwords are printed once."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        keys = demo_keys_seed()
        if keys:
            self.stdout.write(f"Demo keys created: {', '.join(key.alias for key in keys)}.")
        profile = demo_profile_seed()
        if profile:
            names = ", ".join(str(e["name"]) for e in profile.entities)
            self.stdout.write(
                f"Demo organisation profile v{profile.version}: {names} (regulatory facts of every incident)."
            )
        created = demo_users_seed()
        parties = demo_parties_seed()  # after the users: the internal team's inbox readers
        if parties:
            self.stdout.write(f"Demo parties to notify: {', '.join(party.name for party in parties)}.")
        if not created:
            self.stdout.write("Demo users already exist (their passwords were shown when they were created).")
            return
        self.stdout.write("Demo users created. These passwords are shown this once; note them now:")
        for account in created:
            self.stdout.write(f"  {account.username:<15} {account.password:<20} {account.role_label}")
