"""SPL queries as the Splunk-compatible test server (not Splunk) runs them: the first command and the pipes.

The first command must be ``search`` (or a generating ``| tstats``), as Splunk requires of REST
searches; then ``| fields``, ``| table``, ``| dedup``, ``| head``, ``| stats``, ``| rename``,
``| fillnull``, ``| sort`` and ``| mvexpand``. Any other command
gets Splunk's ``Unknown search command 'x'.``. Each command is lazy when it can be.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from copydicom_provider.testing.splunk.spl_errors import SearchError
from copydicom_provider.testing.splunk.spl_fields import (
    parse_fillnull,
    parse_mvexpand,
    parse_rename,
    run_fillnull,
    run_mvexpand,
    run_rename,
)
from copydicom_provider.testing.splunk.spl_parse import Filter, parse_filter
from copydicom_provider.testing.splunk.spl_sort import parse_sort, run_sort
from copydicom_provider.testing.splunk.spl_stats import parse_stats, run_stats
from copydicom_provider.testing.splunk.spl_terms import field_list, wildcard
from copydicom_provider.testing.splunk.spl_tstats import Tstats, parse_tstats

#: A quoted string (escapes inside; an unclosed quote runs to the end), an escaped character, a run
#: of anything else, or a pipe: the pieces :func:`_split_pipes` walks (a query can be 100 KB of keys).
_PIPE_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\\?$)|\\.?|[^"\\|]+|\|', re.DOTALL)


def _split_pipes(query: str) -> list[str]:
    """Split on ``|`` outside double quotes (a backslash escapes the next character)."""
    parts: list[str] = []
    current: list[str] = []
    for token in _PIPE_TOKENS.findall(query):
        if token == "|":
            parts.append("".join(current))
            current = []
        else:
            current.append(token)
    parts.append("".join(current))
    return parts



def _select(row: dict[str, Any], names: list[str]) -> list[str]:
    """Field names of ``row`` matching ``names`` (with wildcards), in the order of ``names``."""
    chosen: list[str] = []
    for name in names:
        if "*" in name:
            pattern = wildcard(name)
            chosen.extend(k for k in row if pattern.match(k) and k not in chosen)
        elif name in row and name not in chosen:
            chosen.append(name)
    return chosen



def run_pipeline(rows: Iterable[dict[str, Any]], commands: list[tuple[str, str]]) -> Iterator[dict[str, Any]]:
    """Apply the pipe commands after ``search`` to a stream of rows; each command is lazy when it can be."""
    stream: Iterable[dict[str, Any]] = rows
    for name, args in commands:
        stream = _apply(stream, name, args)
    return iter(stream)


def _apply(rows: Iterable[dict[str, Any]], name: str, args: str) -> Iterator[dict[str, Any]]:
    if name == "head":
        match = re.fullmatch(r"\s*(?:limit\s*=\s*)?(\d+)?\s*", args)
        if not match:
            raise SearchError(f"Error in 'head' command: Invalid argument: '{args.strip()}'")
        limit = int(match.group(1) or 10)

        def head() -> Iterator[dict[str, Any]]:
            if limit <= 0:
                return
            for count, row in enumerate(rows, 1):
                yield row
                if count >= limit:
                    return

        return head()
    if name == "fields":
        text = args.strip()
        mode = "+"
        if text[:1] in "+-" and text:
            mode, text = text[0], text[1:]
        names = field_list(text)
        if not names:
            raise SearchError("Error in 'fields' command: Must specify at least one field.")
        if mode == "-":
            return ({k: v for k, v in row.items() if k not in _select(row, names)} for row in rows)
        keep = [*names, "_time", "_raw"]  # Splunk keeps the internal fields unless removed with "fields - _*"
        return ({k: row[k] for k in _select(row, keep)} for row in rows)
    if name == "table":
        names = field_list(args)
        if not names:
            raise SearchError("Error in 'table' command: Must specify at least one field.")
        return ({k: row[k] for k in _select(row, names)} for row in rows)
    if name == "dedup":
        names = field_list(args)
        count = 1
        if names and names[0].isdigit():
            count, names = int(names[0]), names[1:]
        if not names or any("=" in n for n in names):
            raise SearchError("Error in 'dedup' command: the Splunk test server implements only 'dedup [N] field...'.")
        return _dedup(rows, names, count)
    if name == "stats":
        stats, by = parse_stats(args)
        return run_stats(rows, stats, by)
    if name == "rename":
        return run_rename(rows, parse_rename(args))
    if name == "mvexpand":
        return run_mvexpand(rows, *parse_mvexpand(args))
    if name == "sort":
        return run_sort(rows, *parse_sort(args))
    if name == "fillnull":
        return run_fillnull(rows, *parse_fillnull(args))
    raise SearchError(f"Unknown search command '{name}'.")


def _dedup(rows: Iterable[dict[str, Any]], names: list[str], keep: int) -> Iterator[dict[str, Any]]:
    seen: dict[tuple, int] = {}
    for row in rows:
        if any(row.get(n) is None for n in names):
            continue
        key = tuple(json.dumps(row[n]) for n in names)
        if seen.get(key, 0) < keep:
            seen[key] = seen.get(key, 0) + 1
            yield row



@dataclass
class ParsedSearch:
    """The first command (``search`` filter, or a generating ``| tstats``) and the pipe commands after it."""

    filter: Filter
    commands: list[tuple[str, str]]
    tstats: Tstats | None = None

    @property
    def transforming(self) -> bool:
        return self.tstats is not None or any(name == "stats" for name, _ in self.commands)


def parse_spl(query: str, now: float) -> ParsedSearch:
    """Parse the subset; the first command must be ``search`` (or ``| tstats``), as Splunk requires of REST searches."""
    segments = _split_pipes(query)
    generating = bool(segments) and not segments[0].strip() and len(segments) > 1
    if generating:
        segments = segments[1:]  # "| search ..." is the same as "search ..."
    first = segments[0].strip()
    name = re.split(r"[\s=(]", first, maxsplit=1)[0] if first else ""
    tstats = None
    if generating and name.lower() == "tstats":
        tstats = parse_tstats(first[len(name):], now)
        search_filter = tstats.filter
    elif name.lower() == "search":
        search_filter = parse_filter(first[len(name):], now)
    elif name.lower() == "tstats":
        raise SearchError("Error in 'tstats' command: This command must be the first command of a search.")
    else:
        raise SearchError(f"Unknown search command '{name}'." if name else "Search string cannot be empty.")
    commands: list[tuple[str, str]] = []
    for segment in segments[1:]:
        segment = segment.strip()
        cmd = re.split(r"\s", segment, maxsplit=1)
        if not cmd[0]:
            raise SearchError("Missing a search command before '|'. Error at position '0' of search query.")
        command = cmd[0].lower()
        if command == "tstats":
            raise SearchError("Error in 'tstats' command: This command must be the first command of a search.")
        if command not in {"fields", "table", "dedup", "head", "stats", "rename", "fillnull", "sort", "mvexpand"}:
            raise SearchError(f"Unknown search command '{cmd[0]}'.")
        commands.append((command, cmd[1] if len(cmd) > 1 else ""))
    for command, args in commands:  # validate arguments before any result is streamed
        _apply(iter(()), command, args)
    return ParsedSearch(search_filter, commands, tstats)
