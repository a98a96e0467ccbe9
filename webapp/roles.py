"""Roles as Django groups, each a fixed set of capabilities. The table is the single source of truth."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission
from django.db import transaction


@dataclass(frozen=True, slots=True)
class Role:
    slug: str
    label: str
    description: str
    capabilities: tuple[str, ...]


COMMANDER = "commander"
SECURITY_LEAD = "security_lead"
KEY_CUSTODIAN = "key_custodian"
LEGAL_DPO = "legal_dpo"
CISO = "ciso"
AUDITOR = "auditor"
SERVICE_ACCOUNT = "service_account"

ROLES: tuple[Role, ...] = (
    Role(
        COMMANDER,
        "Incident commander",
        "Drives the playbook: opens and confirms incidents, starts each step, signs the post-incident review.",
        (
            "view_incidents",
            "respond_to_incidents",
            "command_incidents",
            "report_signals",
            "export_case_files",
            "decide_approvals",
        ),
    ),
    Role(
        SECURITY_LEAD,
        "Security lead",
        "Approves confirmations and restores; reads the audit trail; co-owns the control.",
        ("view_incidents", "respond_to_incidents", "report_signals", "decide_approvals", "view_audit", "own_control"),
    ),
    Role(
        KEY_CUSTODIAN,
        "Key custodian",
        "Owns keys and their backends; co-signs key decisions.",
        ("view_incidents", "respond_to_incidents", "custody_keys", "decide_approvals", "use_key_gate"),
    ),
    Role(
        LEGAL_DPO,
        "Legal / DPO",
        "Decides on regulatory duties and signs filings.",
        ("view_incidents", "decide_approvals", "sign_filings"),
    ),
    Role(
        CISO,
        "CISO",
        "Senior approver and escalation target; owns the key-compromise control.",
        (
            "view_incidents",
            "respond_to_incidents",
            "decide_approvals",
            "view_audit",
            "export_case_files",
            "own_control",
        ),
    ),
    Role(
        AUDITOR,
        "Auditor",
        "Read-only: exports and verifies case files.",
        ("view_incidents", "view_audit", "export_case_files"),
    ),
    Role(
        SERVICE_ACCOUNT,
        "Service account",
        "A machine: applications using the key gate, detectors posting signals.",
        ("use_key_gate", "report_signals"),
    ),
)
ROLES_BY_SLUG = {role.slug: role for role in ROLES}
HUMAN_ROLES = tuple(role for role in ROLES if role.slug != SERVICE_ACCOUNT)


@transaction.atomic
def roles_sync() -> None:
    """Create every role's group and give it exactly its capabilities (idempotent)."""
    permissions = {p.codename: p for p in Permission.objects.filter(content_type__app_label="webapp")}
    for role in ROLES:
        missing = set(role.capabilities) - permissions.keys()
        if missing:
            raise LookupError(f"role {role.slug} names unknown capabilities: {sorted(missing)}")
        group, _ = Group.objects.get_or_create(name=role.slug)
        group.permissions.set([permissions[codename] for codename in role.capabilities])


def sync_roles_after_migrate(**_kwargs: Any) -> None:
    # The webapp permissions are created by Django's own post_migrate handler, which runs first
    # because django.contrib.auth is installed before webapp.
    roles_sync()


def user_roles(user: AbstractBaseUser | AnonymousUser) -> list[Role]:
    if not user.is_authenticated:
        return []
    names: Iterable[str] = user.groups.values_list("name", flat=True)  # type: ignore[attr-defined]
    return [ROLES_BY_SLUG[name] for name in names if name in ROLES_BY_SLUG]
