"""Store filter semantics shared with LangGraph: value filters ($eq…$lte) and namespace match conditions."""

from __future__ import annotations

import operator
import re
from collections.abc import Sequence
from typing import Any

_FILTER_KEY = re.compile(r"^[a-zA-Z0-9_.-]+$")
_OPS = {
    "$eq": operator.eq,
    "$ne": operator.ne,
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}


def _compare(actual: Any, expected: Any) -> bool:
    if isinstance(expected, dict) and expected and all(k in _OPS for k in expected):
        try:
            return all(_OPS[op](actual, arg) for op, arg in expected.items())
        except TypeError:  # e.g. None > 3: not a match rather than an error
            return False
    if isinstance(expected, dict) and isinstance(actual, dict):
        return all(_compare(actual.get(k), v) for k, v in expected.items())
    return bool(actual == expected)


def _at(value: dict[str, Any], key: str) -> Any:
    # A dotted key is a path into nested objects, as in the SQL-backed LangGraph stores.
    if key in value or "." not in key:
        return value.get(key)
    node: Any = value
    for part in key.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def matches(value: dict[str, Any], filter: dict[str, Any] | None) -> bool:
    """True if every filter key matches the item value (exact, nested, or operator comparisons)."""
    for key in filter or {}:
        # Same rule as SqliteStore/PostgresStore, so a filter valid here is valid there.
        if not isinstance(key, str) or not _FILTER_KEY.match(key):
            raise ValueError(f"Invalid filter key: {key!r}")
    return all(_compare(_at(value, key), expected) for key, expected in (filter or {}).items())


def match_namespace(labels: tuple[str, ...], match_type: str, path: Sequence[str]) -> bool:
    """Prefix/suffix match of a namespace against a path that may contain '*' wildcards."""
    if len(path) > len(labels):
        return False
    part = labels[: len(path)] if match_type == "prefix" else labels[len(labels) - len(path) :]
    return all(p == "*" or p == label for p, label in zip(path, part, strict=True))
