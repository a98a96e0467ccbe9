"""Evaluating a rule's conditions on the facts: true, false, or unknown (a fact or decision is missing)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from regulatory.types import Condition

_MISSING = object()


def fact_value(facts: dict[str, Any], path: str) -> Any:
    """The value at a dotted path; a decision (``decisions.x``) yields its ``value``. A state missing
    from counts given per state has none of the people (0); anything else missing is unknown."""
    current: Any = facts
    parts = path.split(".")
    for index, part in enumerate(parts):
        if not isinstance(current, dict) or part not in current:
            if index > 0 and parts[index - 1] == "subjects_by_state" and isinstance(current, dict):
                return 0
            return _MISSING
        current = current[part]
    if path.startswith("decisions.") and isinstance(current, dict):
        return current.get("value", _MISSING)
    return current


def _as_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _test(operator: str, value: Any, operand: Any) -> bool:
    if operator == "present":
        return bool(operand) == (value is not None)
    if operator == "equals":
        return bool(value == operand)
    if operator == "not_equals":
        return bool(value != operand)
    if operator == "in":
        return value in operand
    if operator == "contains":
        return isinstance(value, list) and operand in value
    if operator == "contains_any":
        return isinstance(value, list) and any(item in value for item in operand)
    if operator in ("gt", "gte", "lt", "lte"):
        number, bound = _number(value), _number(operand)
        if number is None or bound is None:
            return False
        return {
            "gt": number > bound,
            "gte": number >= bound,
            "lt": number < bound,
            "lte": number <= bound,
        }[operator]
    if operator in ("before", "at_or_after"):
        when, bound_at = _as_time(value), _as_time(operand)
        if when is None or bound_at is None:
            return False
        return when < bound_at if operator == "before" else when >= bound_at
    raise ValueError(f"unknown operator {operator!r}")


def condition_eval(condition: Condition, facts: dict[str, Any]) -> bool | None:
    """True or False; None when a fact it needs is missing and the condition gives no default."""
    if condition.any_of:
        results = [condition_eval(sub, facts) for sub in condition.any_of]
        if any(result is True for result in results):
            return True
        if any(result is None for result in results):
            return None
        return False
    value = fact_value(facts, condition.fact)
    if value is _MISSING or value is None:
        if condition.operator == "present":
            # not recorded is not "did not happen": undecided when the rule needs it to have happened
            return None if condition.operand else True
        if condition.default is None:
            return None
        value = condition.default
    return _test(condition.operator, value, condition.operand)


def unknown_facts(condition: Condition, facts: dict[str, Any]) -> list[str]:
    """The facts of a condition that are not recorded (what would decide it)."""
    return [name for name in condition.facts() if fact_value(facts, name) in (_MISSING, None)]


def shown(condition: Condition, facts: dict[str, Any]) -> str:
    """The facts a condition looked at, for the reasons (``entity.roles=['controller']``)."""
    parts = []
    for name in condition.facts():
        value = fact_value(facts, name)
        parts.append(f"{name}={'(not given)' if value is _MISSING else value!r}")
    return ", ".join(parts)
