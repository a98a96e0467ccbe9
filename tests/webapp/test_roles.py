"""Roles are Django groups with exactly the capabilities of the role table."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from webapp import roles
from webapp.services.demo import DEMO_ADMIN, DEMO_USERNAMES, demo_users_seed

pytestmark = pytest.mark.django_db


def test_every_role_is_a_group_with_its_capabilities():
    for role in roles.ROLES:
        group = Group.objects.get(name=role.slug)
        assert set(group.permissions.values_list("codename", flat=True)) == set(role.capabilities)


def test_sync_is_idempotent_and_repairs_drift():
    group = Group.objects.get(name=roles.AUDITOR)
    group.permissions.clear()
    roles.roles_sync()
    roles.roles_sync()
    assert group.permissions.count() == len(roles.ROLES_BY_SLUG[roles.AUDITOR].capabilities)


def test_auditor_is_read_only_and_commander_commands(auditor, commander):
    assert auditor.has_perm("webapp.view_audit")
    assert not auditor.has_perm("webapp.decide_approvals")
    assert not auditor.has_perm("webapp.command_incidents")
    assert commander.has_perm("webapp.command_incidents")
    assert not commander.has_perm("webapp.view_audit")


def test_outsider_has_no_capability(outsider):
    assert outsider.get_all_permissions() == set()
    assert roles.user_roles(outsider) == []


def test_demo_seed_creates_one_person_per_role_once():
    first = demo_users_seed()
    assert {a.username for a in first} == set(DEMO_USERNAMES.values()) | {DEMO_ADMIN}
    assert all(len(a.password) >= 12 for a in first)
    assert demo_users_seed() == []  # a second run reuses the data and shows no password again
