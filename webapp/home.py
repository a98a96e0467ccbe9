"""The home page per role: sections that upper apps register (``home_section_register``), each shown
to the people whose role it serves, grouped under that role. The lower app never imports them.

A section is a title, a template (``templates/<app>/home/…``) and a function of the signed-in user and
the time returning the template's context. Each function reads a bounded number of rows with a
bounded number of queries (joins, annotations, a limit) and links to the full list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from webapp import roles

# Rows per section: the rest is one link away.
HOME_ROWS = 10

Build = Callable[[Any, datetime], dict[str, Any]]

# The role groups the home page shows, in this order: a person sees each group a role of theirs
# gives them. A group is shown to holders of any of its capabilities.
GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    roles.COMMANDER: ("As incident commander", ("webapp.command_incidents",)),
    "approver": ("As approver", ("webapp.decide_approvals",)),
    roles.LEGAL_DPO: ("As legal / DPO", ("webapp.sign_filings",)),
    roles.AUDITOR: ("As auditor", ()),
}


@dataclass(frozen=True, slots=True)
class HomeSection:
    name: str
    group: str  # a key of GROUPS
    title: str
    template: str
    build: Build
    order: int = 100


@dataclass(frozen=True, slots=True)
class ShownSection:
    name: str
    title: str
    template: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ShownGroup:
    slug: str
    title: str
    sections: list[ShownSection]


_SECTIONS: dict[str, HomeSection] = {}


def home_section_register(section: HomeSection) -> None:
    if section.group not in GROUPS:
        raise LookupError(f"home section {section.name}: no group {section.group!r}")
    _SECTIONS[section.name] = section


def _group_visible(slug: str, user: Any, role_slugs: set[str]) -> bool:
    if slug == roles.AUDITOR:  # the auditor's overview is for the auditor role (read-only), not every reader
        return roles.AUDITOR in role_slugs
    _title, capabilities = GROUPS[slug]
    return any(user.has_perm(capability) for capability in capabilities)


def home_groups(user: Any, now: datetime) -> list[ShownGroup]:
    """The groups ``user``'s roles give them, each with its sections' data."""
    role_slugs = {role.slug for role in roles.user_roles(user)}
    shown = []
    for slug, (title, _capabilities) in GROUPS.items():
        if not _group_visible(slug, user, role_slugs):
            continue
        sections = sorted((s for s in _SECTIONS.values() if s.group == slug), key=lambda s: (s.order, s.name))
        if sections:
            shown.append(
                ShownGroup(
                    slug,
                    title,
                    [ShownSection(s.name, s.title, s.template, s.build(user, now)) for s in sections],
                )
            )
    return shown
