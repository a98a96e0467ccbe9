"""Notices on the home page that upper apps register (``home_notice_register``): the lower app never
imports them. A notice is a function of the signed-in user returning a sentence, or "" for none."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Notice = Callable[[Any], str]
_NOTICES: dict[str, Notice] = {}


def home_notice_register(name: str, notice: Notice) -> None:
    _NOTICES[name] = notice


def home_notices(user: Any) -> list[str]:
    return [text for notice in _NOTICES.values() if (text := notice(user))]
