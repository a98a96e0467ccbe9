"""Demo data for ``make run``: one person per role, created once, passwords shown once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from webapp.roles import HUMAN_ROLES

DEMO_ADMIN = "admin"
DEMO_USERNAMES = {role.slug: role.slug.replace("_", "-") for role in HUMAN_ROLES}


@dataclass(frozen=True, slots=True)
class DemoAccount:
    username: str
    role_label: str
    password: str


@transaction.atomic
def demo_users_seed() -> list[DemoAccount]:
    """Create the demo people that do not exist yet; return those created with their passwords."""
    user_model = get_user_model()
    created: list[DemoAccount] = []
    for role in HUMAN_ROLES:
        username = DEMO_USERNAMES[role.slug]
        if user_model.objects.filter(username=username).exists():
            continue
        password = secrets.token_urlsafe(12)
        user = user_model.objects.create_user(
            username=username, password=password, first_name=role.label, email=f"{username}@sequester.invalid"
        )
        user.groups.add(Group.objects.get(name=role.slug))
        created.append(DemoAccount(username=username, role_label=role.label, password=password))
    if not user_model.objects.filter(username=DEMO_ADMIN).exists():
        password = secrets.token_urlsafe(12)
        user_model.objects.create_superuser(username=DEMO_ADMIN, password=password, email="admin@sequester.invalid")
        created.append(DemoAccount(username=DEMO_ADMIN, role_label="Administrator (Django admin)", password=password))
    return created
