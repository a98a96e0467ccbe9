"""JSON in, bounded: a body nested deeper than ``MAX_JSON_DEPTH`` is a 400 ``malformed_request``,
never a ``RecursionError`` (which would be a 500 and a traceback thousands of frames long).

The C parser gives up by itself somewhere near Python's recursion limit; below that, the depth is
measured without recursion, so nothing downstream (scrubbing, storing, rendering) ever walks a deeper
tree.
"""

from __future__ import annotations

import json
from typing import Any

from webapp.errors import MalformedRequest

MAX_JSON_DEPTH = 32


def json_depth_within(value: Any, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``value`` nests at most ``max_depth`` containers deep (iteratively: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            return False
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return True


def json_loads_bounded(raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON or raise ``MalformedRequest`` (not JSON, not UTF-8, or nested too deep)."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise MalformedRequest(f"the JSON body nests deeper than {max_depth} levels (the depth cap)") from None
    except (ValueError, TypeError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise MalformedRequest(f"the body is not valid JSON: {exc}") from None
    if not json_depth_within(value, max_depth):
        raise MalformedRequest(f"the JSON body nests deeper than {max_depth} levels (the depth cap)")
    return value
