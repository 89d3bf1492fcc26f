"""The one JSON loader for bodies from outside (webhooks, the API): bad input is a clear 400.

`json.loads` alone lets through what later breaks a request with a 500: a body nested 100,000
levels deep (RecursionError), a bare number where an object is expected (AttributeError on
`.get`), NaN or Infinity (money that is not a number) and a NUL character (PostgreSQL refuses
it in text). Each is refused here with a message that names it.
"""

from __future__ import annotations

import json
from typing import Any

from dropship.core.errors import DomainError

MAX_DEPTH = 64  # real vendor payloads nest under 10 levels


class BadJson(DomainError):
    """The body is not JSON we accept; `message` says why."""


def _refuse_constant(name: str) -> None:
    raise BadJson(f"The body is not valid JSON: {name} is not a number.")


def load_json(body: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse `body`, refusing invalid JSON, NaN/Infinity, nesting deeper than `max_depth` and NUL
    characters in any key or string."""
    try:
        value = json.loads(body, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise BadJson(f"The body is nested too deeply (more than {max_depth} levels).") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadJson("The body is not valid JSON.") from exc
    _check(value, max_depth=max_depth, strings=_may_hold_nul(body))
    return value


def _may_hold_nul(body: bytes | str) -> bool:
    """Whether a decoded string can hold NUL: json.loads refuses raw control characters in
    strings, so NUL arrives only as the escape \\u0000. Without one in the text (a substring
    search, in C) the walk skips the strings, which are most of a payload's values. Bodies that
    are not UTF-8 (JSON allows UTF-16 and -32) are always walked."""
    if isinstance(body, bytes | bytearray):
        if json.detect_encoding(body) != "utf-8":
            return True
        return b"\\u0000" in body
    return "\\u0000" in body


def load_json_object(body: bytes | str, *, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """`load_json` for bodies that must be a JSON object (every webhook)."""
    value = load_json(body, max_depth=max_depth)
    if not isinstance(value, dict):
        raise BadJson("The body must be a JSON object.")
    return value


def _check(value: Any, *, max_depth: int, strings: bool = True) -> None:
    """Depth and (when `strings`) NUL characters, walked without recursion (the depth is what is
    checked). Without `strings` only the objects and arrays are visited."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    containers = (dict, list)
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise BadJson("The body contains a NUL character (\\u0000).")
        elif isinstance(item, containers):
            if depth > max_depth:
                raise BadJson(f"The body is nested too deeply (more than {max_depth} levels).")
            children = item.values() if isinstance(item, dict) else item
            if strings:
                if isinstance(item, dict):
                    pending.extend((key, depth) for key in item)
                pending.extend((child, depth + 1) for child in children)
            else:
                pending.extend(
                    (child, depth + 1) for child in children if isinstance(child, containers)
                )
