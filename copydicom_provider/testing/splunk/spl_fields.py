"""``rename``, ``fillnull`` and ``mvexpand`` as the Splunk-compatible test server (not Splunk) runs them.

Search Reference, "rename": ``rename a AS b [, c AS d]``; the value moves to the new name and the old
name is gone. "fillnull": ``fillnull [value=X] [field ...]``, X defaulting to ``0``; a field that is
missing or empty gets X. Without a field list every field of any result is filled, which needs the
whole result set, as in Splunk. Values are strings, as every result value here is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from copydicom_provider.testing.splunk.spl_errors import SearchError
from copydicom_provider.testing.splunk.spl_terms import field_list, unquote

_RENAME_PAIR = re.compile(r'\s*("(?:[^"\\]|\\.)*"|[^\s,"]+)\s+as\s+("(?:[^"\\]|\\.)*"|[^\s,"]+)\s*,?', re.IGNORECASE)


def parse_rename(args: str) -> list[tuple[str, str]]:
    """The ``old AS new`` pairs (wildcards are not implemented here and are refused)."""
    pairs: list[tuple[str, str]] = []
    position = 0
    text = args.rstrip()
    while position < len(text):
        match = _RENAME_PAIR.match(text, position)
        if not match:
            raise SearchError("Error in 'rename' command: Usage: rename [old_name AS/TO/-> new_name]+.")
        old, new = unquote(match.group(1)), unquote(match.group(2))
        if "*" in old or "*" in new:
            raise SearchError("Error in 'rename' command: the Splunk test server does not implement wildcards.")
        pairs.append((old, new))
        position = match.end()
    if not pairs:
        raise SearchError("Error in 'rename' command: Usage: rename [old_name AS/TO/-> new_name]+.")
    return pairs


def run_rename(rows: Iterable[dict[str, Any]], pairs: list[tuple[str, str]]) -> Iterator[dict[str, Any]]:
    """Rename, lazily; a row without the old field keeps its fields (not pinned against Splunk)."""
    for row in rows:
        out = dict(row)
        for old, new in pairs:
            if old in out:
                out[new] = out.pop(old)
        yield out


def parse_fillnull(args: str) -> tuple[str, list[str]]:
    """``value=X`` (default ``0``) and the field list (empty: every field of any result)."""
    value = "0"
    names: list[str] = []
    for name in field_list(args):
        if name.lower().startswith("value="):
            value = unquote(name.split("=", 1)[1])
        else:
            names.append(name)
    return value, names


def run_fillnull(rows: Iterable[dict[str, Any]], value: str, names: list[str]) -> Iterator[dict[str, Any]]:
    """Fill missing or empty fields; without names, every field any result has (so not lazy)."""
    if not names:
        rows = list(rows)
        seen: dict[str, None] = {}
        for row in rows:
            seen.update((k, None) for k in row if not k.startswith("_"))
        names = list(seen)
    for row in rows:
        out = dict(row)
        for name in names:
            if out.get(name) in (None, "", []):
                out[name] = value
        yield out


def parse_mvexpand(args: str) -> tuple[str, int]:
    """``mvexpand <field> [limit=N]`` (limit 0, the default, keeps every value)."""
    names = field_list(args)
    limit = 0
    for name in list(names):
        if name.lower().startswith("limit="):
            limit = int(name.split("=", 1)[1])
            names.remove(name)
    if len(names) != 1 or names[0].startswith("_"):
        raise SearchError("Error in 'mvexpand' command: Usage: mvexpand <field> [limit=<int>].")
    return names[0], limit


def run_mvexpand(rows: Iterable[dict[str, Any]], name: str, limit: int) -> Iterator[dict[str, Any]]:
    """One row per value of a multivalue field, the other fields unchanged; a single value is one row.
    Rows without the field pass unchanged here (not pinned against Splunk)."""
    for row in rows:
        values = row.get(name)
        if not isinstance(values, list):
            yield row
            continue
        for value in values[:limit] if limit else values:
            yield {**row, name: value}
