"""``| tstats`` as the Splunk-compatible test server (not Splunk) runs it.

``| tstats count|count(f)|dc(f)|values(f)|min(f)|max(f)|sum(f) [as x] [where ...] [by f ...]``
(Search Reference, "tstats"): only indexed fields, as Splunk's tsidx files hold only those.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from copydicom_provider.testing.splunk.spl_errors import SearchError
from copydicom_provider.testing.splunk.spl_match import Matcher
from copydicom_provider.testing.splunk.spl_parse import Filter, parse_filter
from copydicom_provider.testing.splunk.spl_terms import Event, indexed_values, number, product, unquote

_TSTATS_FUNC = re.compile(
    r"\s*(?P<func>count|dc|values|min|max|sum)\s*(?:\(\s*(?P<arg>[^)\s]*)\s*\))?"
    r"(?:\s+as\s+(?P<alias>[\w.{}:-]+|\"[^\"]+\"))?\s*,?",
    re.IGNORECASE,
)
_TSTATS_OPTIONS = {"summariesonly", "allow_old_summaries"}


@dataclass
class Tstats:
    funcs: list[tuple[str, str | None, str]]  # (function, field, output name)
    filter: Filter
    by: list[str]


def _split_keyword(text: str, word: str) -> tuple[str, str | None]:
    """Split at the first `` word `` outside quotes and parentheses.

    Only quotes, parentheses and the word's occurrences change anything, so only they are visited
    (a ``where`` clause can be 100 KB of keys).
    """
    depth, quoted, lowered = 0, False, text.lower()
    for match in re.finditer(r'["()]|' + re.escape(word), lowered):
        n, char = match.start(), match.group()
        if char == '"' and (n == 0 or text[n - 1] != "\\"):
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif (char == word and not quoted and depth == 0 and (n == 0 or text[n - 1].isspace())
              and (n + len(word) == len(text) or text[n + len(word)].isspace())):
            return text[:n], text[n + len(word):]
    return text, None


def parse_tstats(args: str, now: float) -> Tstats:
    head, where = _split_keyword(args, "where")
    rest = where if where is not None else head
    rest, by = _split_keyword(rest, "by")
    if where is None:
        head = rest
    else:
        where = rest
    words = head.split()
    while words and "=" in words[0] and not words[0].lower().startswith(("count", "dc", "values")):
        option = words.pop(0).split("=", 1)[0].lower()
        if option not in _TSTATS_OPTIONS:
            raise SearchError(
                f"Error in 'tstats' command: the Splunk test server does not implement the option '{option}'.")
    text = " ".join(words)
    funcs: list[tuple[str, str | None, str]] = []
    position = 0
    while position < len(text):
        match = _TSTATS_FUNC.match(text, position)
        if not match or match.end() == position:
            raise SearchError(
                "Error in 'tstats' command: the Splunk test server implements count, dc, values, min, max "
                f"and sum over indexed fields; cannot parse {text[position:]!r}."
            )
        position = match.end()
        func, arg = match["func"].lower(), match["arg"] or None
        if func != "count" and not arg:
            raise SearchError(f"Error in 'tstats' command: The argument '{func}' is invalid.")
        name = unquote(match["alias"]) if match["alias"] else (f"{func}({arg})" if arg else func)
        funcs.append((func, arg, name))
    if not funcs:
        raise SearchError("Error in 'tstats' command: The argument '' is invalid.")
    by_fields = [name for name in re.split(r"[\s,]+", (by or "").strip()) if name]
    if any("=" in name for name in by_fields):
        raise SearchError(
            "Error in 'tstats' command: the Splunk test server does not implement 'span' or other by-options.")
    parsed = parse_filter(where or "", now)
    if not Matcher().keyword_free(parsed.expr):
        raise SearchError("Error in 'tstats' command: the Splunk test server does not implement raw terms in 'where'.")
    return Tstats(funcs, parsed, by_fields)


def _tstats_values(event: Event, name: str) -> list[str]:
    if name == "_time":
        return [str(int(event.time))]
    return indexed_values(event, name)


def run_tstats(
    spec: Tstats, events: Iterable[Event], format_number: Callable[[float], str]
) -> Iterator[dict[str, Any]]:
    """Aggregate ``events`` (already filtered) by the ``by`` fields, from indexed values only."""
    groups: dict[tuple[str, ...], list[Event]] = {}
    for event in events:
        keys = [_tstats_values(event, name) for name in spec.by]
        if any(not k for k in keys):
            continue
        for combo in product([list(dict.fromkeys(k)) for k in keys]):  # each value once per group
            groups.setdefault(combo, []).append(event)
    if not spec.by and not groups:
        groups[()] = []
    for key in sorted(groups):
        row: dict[str, Any] = dict(zip(spec.by, key, strict=True))
        members = groups[key]
        for func, arg, name in spec.funcs:
            if func == "count" and arg is None:
                row[name] = str(len(members))
                continue
            values = [v for event in members for v in _tstats_values(event, arg or "")]
            if func == "count":
                row[name] = str(len(values))
            elif func == "dc":
                row[name] = str(len(set(values)))
            elif func == "values":
                distinct = sorted(set(values))
                if distinct:
                    row[name] = distinct[0] if len(distinct) == 1 else distinct
            else:
                numbers = [n for n in (number(v) for v in values) if n is not None]
                if numbers:
                    reducers: dict[str, Callable[[list[float]], float]] = {"min": min, "max": max, "sum": math.fsum}
                    result = reducers[func](numbers)
                    row[name] = format_number(result)
        yield row
