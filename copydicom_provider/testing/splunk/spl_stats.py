"""``| stats`` as the Splunk-compatible test server (not Splunk) runs it.

``| stats count|avg|max|min|sum|median(...) [as x] [by ...]``: numbers when the values are numbers
(``max``/``min`` fall back to lexical order), one row per combination of the ``by`` values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from copydicom_provider.testing.splunk.spl_errors import SearchError
from copydicom_provider.testing.splunk.spl_terms import field_list, format_number, number, product, unquote

_STAT = re.compile(
    r"\s*(?P<func>count|avg|max|min|sum|median)\s*(?:\(\s*(?P<arg>[^)\s]*)\s*\))?(?:\s+as\s+(?P<alias>[\w.{}:-]+|\"[^\"]+\"))?\s*,?",
    re.IGNORECASE,
)


@dataclass
class Stat:
    func: str
    arg: str | None
    name: str

    def compute(self, rows: list[dict[str, Any]]) -> str | None:
        if self.func == "count" and self.arg is None:
            return str(len(rows))
        values: list[str] = []
        for row in rows:
            value = row.get(self.arg or "")
            if value is not None:
                values.extend(value if isinstance(value, list) else [value])
        if self.func == "count":
            return str(len(values))
        numbers = [n for n in (number(v) for v in values) if n is not None]
        if self.func in {"max", "min"}:
            if numbers:
                return format_number(max(numbers) if self.func == "max" else min(numbers))
            if not values:
                return None
            return max(values) if self.func == "max" else min(values)
        if not numbers:
            return None
        if self.func == "sum":
            return format_number(math.fsum(numbers))
        if self.func == "avg":
            return format_number(math.fsum(numbers) / len(numbers))
        ordered = sorted(numbers)  # Splunk docs: an even count gives "the higher of the two values"
        return format_number(ordered[len(ordered) // 2])


def parse_stats(args: str) -> tuple[list[Stat], list[str]]:
    by: list[str] = []
    split = re.split(r"\s+by\s+", args, maxsplit=1, flags=re.IGNORECASE)
    if len(split) == 2:
        args, by = split[0], field_list(split[1])
    stats: list[Stat] = []
    position = 0
    args = args.strip()
    while position < len(args):
        match = _STAT.match(args, position)
        if not match or match.end() == position:
            raise SearchError(
                f"Error in 'stats' command: the Splunk test server implements only "
                f"count, avg, max, min, sum and median; cannot parse {args[position:]!r}."
            )
        position = match.end()
        func, arg = match["func"].lower(), match["arg"] or None
        if func != "count" and not arg:
            raise SearchError(f"Error in 'stats' command: The argument '{func}' is invalid.")
        name = unquote(match["alias"]) if match["alias"] else (f"{func}({arg})" if arg else func)
        stats.append(Stat(func, arg, name))
    if not stats:
        raise SearchError("Error in 'stats' command: The argument '' is invalid.")
    return stats, by


def run_stats(rows: Iterable[dict[str, Any]], stats: list[Stat], by: list[str]) -> Iterator[dict[str, Any]]:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        keys: list[list[str]] = []
        for name in by:
            value = row.get(name)
            if value is None:
                break
            keys.append(value if isinstance(value, list) else [value])
        else:
            for combo in product(keys):
                groups.setdefault(combo, []).append(row)
    if not by and not groups:
        groups[()] = []
    for key in sorted(groups):
        out: dict[str, Any] = dict(zip(by, key, strict=True))
        for stat in stats:
            value = stat.compute(groups[key])
            if value is not None:
                out[stat.name] = value
        yield out
