"""``sort`` as the Splunk-compatible test server (not Splunk) runs it.

Search Reference, "sort": ``sort [N | limit=N] [-|+]field ...``; at most N rows (default 10000, 0 for
all), ``-`` descending. Two values compare as numbers when both are numbers, else lexicographically
(a number sorts before a string). Where rows without the field go is not pinned against Splunk.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from typing import Any

from copydicom_provider.testing.splunk.spl_errors import SearchError
from copydicom_provider.testing.splunk.spl_terms import field_list, number


def parse_sort(args: str) -> tuple[int, list[tuple[str, bool]]]:
    """The limit and the ``(field, descending)`` keys."""
    names = field_list(re.sub(r"([+-])\s+", r"\1", args))
    limit = 10000
    if names and (names[0].isdigit() or names[0].lower().startswith("limit=")):
        limit = int(names.pop(0).split("=")[-1])
    keys = [(n.lstrip("+-"), n.startswith("-")) for n in names]
    if not keys or any(not name for name, _ in keys):
        raise SearchError("Error in 'sort' command: Must specify at least one field to sort by.")
    return limit, keys


def _compare(a: Any, b: Any) -> int:
    if a is None or b is None:
        return (a is None) - (b is None)
    a = a[0] if isinstance(a, list) and a else a
    b = b[0] if isinstance(b, list) and b else b
    x, y = number(str(a)), number(str(b))
    if x is not None and y is not None:
        return (x > y) - (x < y)
    if (x is None) != (y is None):
        return -1 if x is not None else 1
    return (str(a) > str(b)) - (str(a) < str(b))


def run_sort(rows: Iterable[dict[str, Any]], limit: int, keys: list[tuple[str, bool]]) -> Iterator[dict[str, Any]]:
    """Sort the whole result set (not lazy), stably, then keep the first ``limit`` rows."""

    def order(r: dict[str, Any], s: dict[str, Any]) -> int:
        for name, descending in keys:
            result = _compare(r.get(name), s.get(name))
            if result:
                return -result if descending and r.get(name) is not None and s.get(name) is not None else result
        return 0

    ordered = sorted(rows, key=functools.cmp_to_key(order))
    return iter(ordered[:limit] if limit else ordered)
