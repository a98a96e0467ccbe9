"""Time left before a deadline, as people read it ("in 3 h 05 min", "overdue by 1 d 2 h 00 min")."""

from __future__ import annotations

from datetime import datetime


def countdown(seconds: float | None) -> str:
    if seconds is None:
        return ""
    sign = "overdue by " if seconds < 0 else "in "
    left = int(abs(seconds))
    days, rest = divmod(left, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days} d"] if days else []
    parts += [f"{hours} h", f"{minutes:02d} min"]
    return sign + " ".join(parts)


def until(deadline: datetime | None, now: datetime) -> str:
    return countdown((deadline - now).total_seconds()) if deadline is not None else ""
