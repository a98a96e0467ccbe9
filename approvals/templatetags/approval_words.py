"""``{{ request.action|action_title }}`` and ``{{ slug|role_label }}``: approvals in words on any page."""

from __future__ import annotations

from django import template

from approvals import wording

register = template.Library()


@register.filter
def action_title(action: str) -> str:
    return wording.action_title(action)


@register.filter
def role_label(slug: str) -> str:
    return wording.role_label(slug)
