"""``{% undelivered_alert_mail user %}``: the warning that alert mail did not go out (for the home page)."""

from __future__ import annotations

from typing import Any

from django import template

from webapp.services.staff_mail import staff_mail_undelivered_recent

register = template.Library()


@register.inclusion_tag("mail/_undelivered.html")
def undelivered_alert_mail(user: Any) -> dict[str, Any]:
    """Recent alert mail not delivered, for people who work on incidents (nothing for anyone else)."""
    if not getattr(user, "is_authenticated", False) or not user.has_perm("webapp.view_incidents"):
        return {"mails": []}
    return {"mails": list(staff_mail_undelivered_recent()[:10])}
