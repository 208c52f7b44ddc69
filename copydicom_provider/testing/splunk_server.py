"""A Splunk-compatible test server, not Splunk: it stands in for Splunk in the tests and in the demo.

Real Splunk cannot run on the machines this project is tested on, so this module plays its part on
127.0.0.1. It is a test double, not Splunk: it follows Splunk's published wire formats (the HTTP
Event Collector on one port, the management REST API on another) closely enough that the
provider's ``SplunkHook`` *and Splunk's own Python SDK* (``splunklib``) work against it unchanged,
and it refuses, with Splunk's error shapes, everything it does not implement instead of answering
something plausible but wrong.

HEC (``hec_url``):
    ``POST /services/collector``, ``/services/collector/event``, ``/services/collector/event/1.0``
    (concatenated JSON envelopes, optionally gzip), ``/services/collector/raw`` (one event per line),
    ``GET /services/collector/health[/1.0]``, ``POST /services/collector/ack``. Auth
    ``Authorization: Splunk <token>`` or Basic with the token as password. Replies are Splunk's
    ``{"text": ..., "code": N}`` bodies with Splunk's status codes (see ``HEC_STATUS``), batch errors
    carry ``invalid-event-number`` and keep the events before it, like Splunk. Indexer
    acknowledgement per token: ``ackId`` counts from 0 per channel, an id is forgotten once polled
    ``true``.

Management (``mgmt_url``), also under ``/servicesNS/{owner}/{app}/``:
    ``POST /services/auth/login`` (XML or JSON session key, optional ``splunkd_<port>`` cookie),
    ``GET /services/server/info``, ``/services/search/jobs`` and ``/services/search/v2/jobs``:
    create (``exec_mode`` normal, blocking, oneshot), job status, ``results``/``results_preview``/
    ``events``, ``control``, ``DELETE``, and ``export`` (streamed JSON lines or XML). Auth
    ``Authorization: Splunk <sessionKey>``, Basic, ``Bearer`` (configured tokens) or the cookie.

SPL subset (nothing beyond it is pretended; the language itself lives in
:mod:`copydicom_provider.testing.splunk_spl`): a leading ``search`` filter with Splunk's boolean semantics
(``AND``/``OR``/``NOT``, parentheses, ``= != < <= > >=``, ``::``, ``IN (...)``, ``*`` wildcards, keywords,
``earliest=``/``latest=``), or a leading ``| tstats`` over indexed fields; then ``| fields``, ``| table``,
``| dedup``, ``| head``, ``| stats count|avg|max|min|sum|median(...) [as x] [by ...]``. Any other command gets Splunk's
``Unknown search command 'x'.``; anything else unimplemented gets a FATAL message naming what this
server lacks. Indexed fields (HEC ``fields``) are kept apart from search-time ones: ``field=value``
on a field not declared in ``indexed_fields`` (fields.conf ``INDEXED``) also needs the value's terms
in the raw event, as in Splunk; ``::`` and ``tstats`` read the index's posting lists, so their cost
follows the keys asked, not the index's size. Without ``index=`` only ``main`` is searched, as with
Splunk's default role. JSON events get search-time fields (``a.b``, ``list{}``) whatever their
sourcetype (``KV_MODE=auto``). In-search ``earliest=``/``latest=`` replace the request's range and
``latest`` defaults to now. Results are newest first; every value is a string, multivalue fields are
lists, ``_time`` is ISO 8601 with milliseconds. Transforming searches stream preview rows first.

Fault switches: ``busy(n)`` / ``busy_forever()`` answer 503 "Server is busy" (``busy(n)`` is a storm of n
consecutive refusals, then recovery), ``busy_after(k)`` takes the first k envelopes of a request and then
answers 503 naming ``invalid-event-number`` k, ``drop(n)`` closes the connection without a reply (nothing
stored), ``answer_late(n, delay)`` stores a request's events and answers only ``delay`` seconds later (after
a client's timeout), ``drop_after_store(n)`` stores them and closes the connection without a reply,
``error_after_store(n, status)`` stores them and answers a 5xx (500 "Internal server error" code 8, or a
gateway's HTML page for 502/504), ``proxy_answers(n, body, content_type, store)`` has a proxy in front of
HEC answer 200 with its own body (a login page, a loose ``{"code":0}``) and forward nothing (or, with
``store``, forward first), ``searches_refused(n)`` answers the next n new searches with Splunk's 503
"maximum number of concurrent historical searches", ``partial_peers(n, peer, text)`` takes a search peer down
for the next n searches: they leave out the events that peer holds (events are spread over ``PEERS`` by arrival) and
carry Splunk's WARN message saying so, ``export_message(type, text, after_rows)`` puts an in-stream message
into the next export, ``reset_faults()``. ``search_lag`` makes stored events searchable only that many seconds later, as
Splunk's indexing lag does. Accepted events are kept in memory and, when
``persist_path`` is given, appended to a JSON-lines file (reloaded at start, for demos).
"""

from __future__ import annotations

import base64
import gzip
import json
import math
import re
import secrets
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape, quoteattr

from copydicom_provider.testing.splunk_spl import (
    Filter,
    Matcher,
    SearchError,
    Tstats,
    lookup_keys,
    parse_filter,
    parse_tstats,
    request_time,
    run_tstats,
    terms_of,
    time_bounds,
)
from copydicom_provider.testing.splunk_spl import (
    unquote as _unquote,
)
from copydicom_provider.testing.splunk_spl import (
    wildcard as _wildcard,
)

# --------------------------------------------------------------------------- HEC status table
#: Splunk's HEC status codes: code -> (HTTP status, text). Splunk docs "Troubleshoot HTTP Event
#: Collector" and Splunk's cloudfwd error table.
HEC_STATUS: dict[int, tuple[int, str]] = {
    0: (200, "Success"),
    1: (403, "Token disabled"),
    2: (401, "Token is required"),
    3: (401, "Invalid authorization"),
    4: (403, "Invalid token"),
    5: (400, "No data"),
    6: (400, "Invalid data format"),
    7: (400, "Incorrect index"),
    8: (500, "Internal server error"),
    9: (503, "Server is busy"),
    10: (400, "Data channel is missing"),
    11: (400, "Invalid data channel"),
    12: (400, "Event field is required"),
    13: (400, "Event field cannot be blank"),
    14: (400, "ACK is disabled"),
    15: (400, "Error in handling indexed fields"),
    16: (400, "Query string authorization is not enabled"),
    17: (200, "HEC is healthy"),
    18: (503, "HEC is unhealthy, queues are full"),
    19: (503, "HEC is unhealthy, ack service unavailable"),
    20: (503, "HEC is unhealthy, queues are full, ack service unavailable"),
    21: (400, "Invalid token"),
    22: (400, "Token disabled"),
}
NOT_FOUND_TEXT = "The requested URL was not found on this server."
#: The indexers (search peers) events are spread over, in turn by arrival, as an indexer cluster's
#: forwarders spread them; ``partial_peers`` takes one down.
PEERS = ("idx1", "idx2")


def peer_down_text(peer: str) -> str:
    """What Splunk reports when it cannot reach a search peer (Splunk docs, Troubleshooting Manual,
    "Intermittent authentication timeouts on search peers"); the search still answers, without that peer's events."""
    return f'Unable to distribute to peer named {peer} at uri https://{peer}:8089 because peer has status = "Down".'


#: Splunk's 503 when a new search would exceed the search concurrency limit (as splunkd words it).
SEARCHES_FULL_TEXT = (
    'Search not executed: The maximum number of concurrent historical searches on this instance has been '
    'reached., concurrency_category="historical", concurrency_context="instance-wide", current_concurrency=6, '
    'concurrency_limit=6'
)
DEFAULT_VERSION = "9.1.2"


def hec_body(code: int, **extra: Any) -> dict[str, Any]:
    return {"text": HEC_STATUS[code][1], "code": code, **extra}


# --------------------------------------------------------------------------- stored events
@dataclass
class StoredEvent:
    """One indexed event: metadata, raw text and indexed fields (HEC ``fields``, in ``indexed``).

    Search-time fields (``extracted``) and the raw text's lexicon terms are derived on first use and
    kept, as Splunk derives them at search time from the same raw text; ``fields`` shows both, as a
    search row does.
    """

    time: float
    index: str
    host: str
    source: str
    sourcetype: str
    raw: str
    indextime: int
    serial: int
    indexed: dict[str, str | list[str]] = field(default_factory=dict)
    searchable_at: float = 0.0  # epoch seconds; not persisted (a reloaded event is searchable at once)

    @cached_property
    def extracted(self) -> dict[str, str | list[str]]:
        """``KV_MODE=auto``: a JSON object event gets its fields extracted, whatever its sourcetype."""
        if not self.raw.lstrip().startswith("{"):
            return {}
        try:
            return extract_json_fields(json.loads(self.raw))
        except ValueError:
            return {}

    @property
    def fields(self) -> dict[str, str | list[str]]:
        """What a search sees: search-time fields, and indexed fields over them."""
        return {**self.extracted, **self.indexed}

    @cached_property
    def terms(self) -> frozenset[str]:
        return frozenset(terms_of(self.raw))

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time, "index": self.index, "host": self.host, "source": self.source,
            "sourcetype": self.sourcetype, "raw": self.raw, "indextime": self.indextime,
            "serial": self.serial, "fields": self.indexed,
        }


def splunk_str(value: Any) -> str:
    """Splunk renders every field value as a string (JSON literals keep their JSON spelling)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return json.dumps(value)


def extract_json_fields(event: Any) -> dict[str, str | list[str]]:
    """Search-time JSON extraction as Splunk names it: ``a.b`` for objects, ``a{}`` for arrays."""
    out: dict[str, list[str]] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for item in value:
                walk(item, f"{path}{{}}")
        elif path:
            out.setdefault(path, []).append(splunk_str(value))

    if isinstance(event, dict):
        walk(event, "")
    return {key: values[0] if len(values) == 1 else values for key, values in out.items()}


def iso_time(epoch: float) -> str:
    stamp = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}+00:00"


def parse_hec_time(value: Any) -> float | None:
    """Epoch seconds; 13- and 19-digit integers are read as milliseconds and nanoseconds, as Splunk does."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if not isinstance(value, (int, float)) or math.isnan(value):
        return None
    if isinstance(value, int) and value >= 10**17:
        return value / 1e9
    if isinstance(value, int) and value >= 10**11:
        return value / 1e3
    return float(value)


# --------------------------------------------------------------------------- SPL subset
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


def _field_list(args: str) -> list[str]:
    return [name for name in re.split(r"[\s,]+", args.strip()) if name]


def _select(row: dict[str, Any], names: list[str]) -> list[str]:
    """Field names of ``row`` matching ``names`` (with wildcards), in the order of ``names``."""
    chosen: list[str] = []
    for name in names:
        if "*" in name:
            pattern = _wildcard(name)
            chosen.extend(k for k in row if pattern.match(k) and k not in chosen)
        elif name in row and name not in chosen:
            chosen.append(name)
    return chosen


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def format_number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


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
        numbers = [n for n in (_number(v) for v in values) if n is not None]
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
        args, by = split[0], _field_list(split[1])
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
        name = _unquote(match["alias"]) if match["alias"] else (f"{func}({arg})" if arg else func)
        stats.append(Stat(func, arg, name))
    if not stats:
        raise SearchError("Error in 'stats' command: The argument '' is invalid.")
    return stats, by


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
        names = _field_list(text)
        if not names:
            raise SearchError("Error in 'fields' command: Must specify at least one field.")
        if mode == "-":
            return ({k: v for k, v in row.items() if k not in _select(row, names)} for row in rows)
        keep = [*names, "_time", "_raw"]  # Splunk keeps the internal fields unless removed with "fields - _*"
        return ({k: row[k] for k in _select(row, keep)} for row in rows)
    if name == "table":
        names = _field_list(args)
        if not names:
            raise SearchError("Error in 'table' command: Must specify at least one field.")
        return ({k: row[k] for k in _select(row, names)} for row in rows)
    if name == "dedup":
        names = _field_list(args)
        count = 1
        if names and names[0].isdigit():
            count, names = int(names[0]), names[1:]
        if not names or any("=" in n for n in names):
            raise SearchError("Error in 'dedup' command: the Splunk test server implements only 'dedup [N] field...'.")
        return _dedup(rows, names, count)
    if name == "stats":
        stats, by = parse_stats(args)
        return _stats(rows, stats, by)
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


def _stats(rows: Iterable[dict[str, Any]], stats: list[Stat], by: list[str]) -> Iterator[dict[str, Any]]:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        keys: list[list[str]] = []
        for name in by:
            value = row.get(name)
            if value is None:
                break
            keys.append(value if isinstance(value, list) else [value])
        else:
            for combo in _product(keys):
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


def _product(lists: list[list[str]]) -> Iterator[tuple[str, ...]]:
    if not lists:
        yield ()
        return
    for head in lists[0]:
        for rest in _product(lists[1:]):
            yield (head, *rest)


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
        if command not in {"fields", "table", "dedup", "head", "stats"}:
            raise SearchError(f"Unknown search command '{cmd[0]}'.")
        commands.append((command, cmd[1] if len(cmd) > 1 else ""))
    for command, args in commands:  # validate arguments before any result is streamed
        _apply(iter(()), command, args)
    return ParsedSearch(search_filter, commands, tstats)


# --------------------------------------------------------------------------- server state
@dataclass
class HecToken:
    token: str
    indexes: tuple[str, ...] | None = None  # None: any existing index
    default_index: str = "main"
    ack: bool = False
    disabled: bool = False


@dataclass
class SearchJob:
    sid: str
    search: str
    rows: list[dict[str, Any]]
    transforming: bool
    owner: str
    published: float
    messages: list[dict[str, str]] = field(default_factory=list)


class SplunkState:
    """Everything both ports share: events, tokens, users, sessions, acks, jobs and fault switches."""

    def __init__(
        self,
        *,
        tokens: Iterable[HecToken],
        users: dict[str, str],
        bearer_tokens: Iterable[str],
        indexes: Iterable[str],
        version: str,
        max_content_length: int,
        ack_delay: float,
        persist_path: Path | None,
        server_name: str,
        search_lag: float = 0.0,
        indexed_fields: Iterable[str] = (),
    ) -> None:
        self.lock = threading.RLock()
        #: fields declared ``INDEXED = true`` in fields.conf: ``field=value`` reads them from the index
        self.indexed_fields = frozenset(indexed_fields)
        #: (index, indexed field, lower-case value) -> events: the posting lists tstats and ``::`` read
        self.postings: dict[tuple[str, str, str], list[StoredEvent]] = {}
        self.export_messages: list[tuple[int, str, str]] = []  # (after how many rows, type, text)
        self.tokens = {t.token: t for t in tokens}
        self.users = dict(users)
        self.bearer_tokens = set(bearer_tokens)
        self.indexes = set(indexes) | {"main"}
        self.version = version
        self.max_content_length = max_content_length
        self.ack_delay = ack_delay
        self.search_lag = search_lag
        self.persist_path = persist_path
        self.server_name = server_name
        self.events: list[StoredEvent] = []
        self.sessions: dict[str, str] = {}
        self.acks: dict[str, dict[int, float]] = {}  # channel -> ackId -> time it becomes indexed
        self.next_ack: dict[str, int] = {}
        self.jobs: dict[str, SearchJob] = {}
        self.busy_remaining = 0
        self.busy_always = False
        self.drop_remaining = 0
        self.busy_after_events = 0
        self.busy_after_remaining = 0
        self.late_remaining = 0
        self.late_delay = 0.0
        self.hec_pause = 0.0
        self.drop_after_store_remaining = 0
        self.error_after_store_remaining = 0
        self.error_after_store_status = 500
        self.proxy_remaining = 0
        self.proxy_reply: tuple[str, str, bool] = ("", "text/html", False)  # body, content type, store first
        self.partial_remaining = 0
        self.search_refused_remaining = 0
        self.partial_peer, self.partial_text = PEERS[-1], ""
        self.requests: list[RecordedRequest] = []
        self._serial = 0
        if persist_path and persist_path.exists():
            for line in persist_path.read_text().splitlines():
                if line.strip():
                    data = json.loads(line)
                    data.pop("searchable_at", None)
                    data["indexed"] = data.pop("fields", None) or {}
                    self.events.append(StoredEvent(**data))
            self._serial = len(self.events)
        self._posted: tuple[int, int] = (0, -1)  # (id, length) of the event list the postings reflect

    def _post(self, events: Iterable[StoredEvent]) -> None:
        for event in events:
            for name, value in event.indexed.items():
                for item in value if isinstance(value, list) else [value]:
                    self.postings.setdefault((event.index, name, item.lower()), []).append(event)

    def posted(self, index: str, name: str, value: str) -> list[StoredEvent]:
        """The events of ``index`` whose indexed field ``name`` holds ``value`` (any case); call under the lock.

        Rebuilt when a test replaced or trimmed ``events`` directly, so the lists never hold removed events.
        """
        if self._posted != (id(self.events), len(self.events)):
            self.postings.clear()
            self._post(self.events)
            self._posted = (id(self.events), len(self.events))
        return self.postings.get((index, name, value.lower()), [])

    def clear_events(self) -> None:
        with self.lock:
            self.events.clear()
            self.postings.clear()

    def store(self, events: list[StoredEvent]) -> None:
        with self.lock:
            searchable_at = time.time() + self.search_lag
            for event in events:
                event.serial = self._serial
                event.searchable_at = searchable_at
                self._serial += 1
            in_step = self._posted == (id(self.events), len(self.events))
            self.events.extend(events)
            if in_step:
                self._post(events)
                self._posted = (id(self.events), len(self.events))
            if self.persist_path:
                with self.persist_path.open("a") as handle:
                    for event in events:
                        handle.write(json.dumps(event.to_json()) + "\n")


@dataclass
class RecordedRequest:
    """A request as the server received it, for contract tests (body decompressed)."""

    port: str  # "hec" or "mgmt"
    method: str
    path: str
    query: str
    headers: dict[str, str]
    raw_body: bytes
    body: bytes


# --------------------------------------------------------------------------- HTTP plumbing
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Splunkd"
    sys_version = ""
    role = "mgmt"

    def _address(self) -> tuple[str, int]:
        """The host and port this server listens on (the socket server types its address loosely)."""
        host, port = cast("tuple[str, int]", self.server.server_address)[:2]
        return host, port

    @property
    def state(self) -> SplunkState:
        return self.server.state  # type: ignore[attr-defined]

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle and delayed ACKs add 40 ms a reply.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        return

    # -- request plumbing
    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes | str, content_type: str, headers: dict[str, str] | None = None) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        # splunkd answers keep-alive even to "Connection: Close"; splunklib closes before reading otherwise.
        self.send_header("Connection", "Keep-Alive")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload, separators=(",", ":")), "application/json; charset=UTF-8", headers)

    def _drop(self) -> None:
        """Close the socket without a reply: the client sees the connection reset."""
        self.close_connection = True
        try:
            self.connection.shutdown(2)
        except OSError:
            pass

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        raw_body = self._read_body()
        body = raw_body
        encoding = self.headers.get("Content-Encoding", "").lower()
        gzip_error = False
        if encoding == "gzip" and raw_body:
            try:
                body = gzip.decompress(raw_body)
            except (OSError, EOFError, zlib.error):
                gzip_error = True
        with self.state.lock:
            self.state.requests.append(
                RecordedRequest("hec" if parts.path.startswith("/services/collector") else "mgmt", self.command,
                                unquote(parts.path), parts.query, dict(self.headers.items()), raw_body, body)
            )
        self.handle_request(unquote(parts.path), parse_qs(parts.query, keep_blank_values=True), body, encoding,
                            gzip_error)

    do_GET = do_POST = do_DELETE = do_HEAD = do_PUT = lambda self: self._dispatch()

    def handle_request(
        self, path: str, query: dict[str, list[str]], body: bytes, encoding: str, gzip_error: bool
    ) -> None:
        raise NotImplementedError


class _HecHandler(_Handler):
    role = "hec"

    def handle_request(
        self, path: str, query: dict[str, list[str]], body: bytes, encoding: str, gzip_error: bool
    ) -> None:
        path = path.rstrip("/")
        state = self.state
        with state.lock:
            if state.drop_remaining > 0:
                state.drop_remaining -= 1
                return self._drop()
            pause = state.hec_pause
        if pause:
            time.sleep(pause)
        if path in {"/services/collector/health", "/services/collector/health/1.0"}:
            if self.command not in {"GET", "HEAD"}:
                return self._json(405, {"text": NOT_FOUND_TEXT, "code": 405})
            if "token" in query:
                return self._json(400, hec_body(16))
            if self.headers.get("Authorization"):  # a token given to the health check is checked too
                token = state.tokens.get(self._credential() or "")
                if token is None:
                    return self._json(400, hec_body(21))
                if token.disabled:
                    return self._json(400, hec_body(22))
            with state.lock:
                busy = state.busy_always
            return self._json(503, hec_body(18)) if busy else self._json(200, hec_body(17))
        routes = {
            "/services/collector": self._events,
            "/services/collector/event": self._events,
            "/services/collector/event/1.0": self._events,
            "/services/collector/raw": self._raw,
            "/services/collector/raw/1.0": self._raw,
            "/services/collector/ack": self._ack,
        }
        handler = routes.get(path)
        if handler is None:
            return self._json(404, {"text": NOT_FOUND_TEXT, "code": 404})
        if self.command != "POST":
            return self._json(405, {"text": NOT_FOUND_TEXT, "code": 405})
        if "token" in query:  # query-string auth is off unless an admin enables it per token
            return self._json(400, hec_body(16))
        with state.lock:
            proxy = state.proxy_remaining > 0 and not state.proxy_reply[2] and not path.endswith("/ack")
            if proxy:
                state.proxy_remaining -= 1
        if proxy:  # a proxy in front of HEC answered by itself: nothing reached Splunk
            return self._send(200, state.proxy_reply[0], state.proxy_reply[1])
        with state.lock:
            if state.busy_always or state.busy_remaining > 0:
                state.busy_remaining = max(0, state.busy_remaining - 1)
                return self._json(503, hec_body(9))
        token = self._hec_auth()
        if token is None:
            return
        if encoding and encoding not in {"gzip", "identity"}:
            return self._send(415, "<html><body>Unsupported Media Type</body></html>", "text/html")
        length = len(body)
        if length > state.max_content_length:
            text = f"Content-Length of {length} too large (maximum is {state.max_content_length})"
            return self._json(413, {"text": text, "code": 413})
        if gzip_error:
            return self._json(400, hec_body(6))
        channel = self._channel(query)
        is_ack, is_raw = path.endswith("/ack"), "/raw" in path
        if token.ack or is_raw or is_ack:
            if is_ack and not token.ack:
                return self._json(400, hec_body(14))
            if channel is None:
                return self._json(400, hec_body(10))
            if not _is_guid(channel):
                return self._json(400, hec_body(11))
        handler(token, channel, query, body)

    def _credential(self) -> str | None:
        """The token of ``Authorization: Splunk <token>`` (or Basic with it as password); None if malformed."""
        scheme, _, credential = self.headers.get("Authorization", "").strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() == "basic":
            try:
                return base64.b64decode(credential).decode().partition(":")[2] or None
            except (ValueError, UnicodeDecodeError):
                return None
        return credential if scheme.lower() == "splunk" and credential else None

    def _hec_auth(self) -> HecToken | None:
        if not self.headers.get("Authorization"):
            self._json(401, hec_body(2))
            return None
        credential = self._credential()
        if credential is None:
            self._json(401, hec_body(3))
            return None
        token = self.state.tokens.get(credential)
        if token is None:
            self._json(403, hec_body(4))
            return None
        if token.disabled:
            self._json(403, hec_body(1))
            return None
        return token

    def _channel(self, query: dict[str, list[str]]) -> str | None:
        channels = query.get("channel")
        return self.headers.get("X-Splunk-Request-Channel") or (channels[0] if channels else None)

    def _success(self, token: HecToken, channel: str | None) -> None:
        """Answer a stored request, unless a fault switch says to drop the reply or send it late."""
        with self.state.lock:
            ack_id = None
            if token.ack:
                assert channel is not None
                ack_id = self.state.next_ack.get(channel, 0)
                self.state.next_ack[channel] = ack_id + 1
                self.state.acks.setdefault(channel, {})[ack_id] = time.monotonic() + self.state.ack_delay
            drop = self.state.drop_after_store_remaining > 0
            error = 0 if drop else self.state.error_after_store_remaining
            proxied = not drop and not error and self.state.proxy_remaining > 0 and self.state.proxy_reply[2]
            late = 0.0
            if proxied:  # forwarded and stored, then the proxy put its own body in place of Splunk's
                self.state.proxy_remaining -= 1
                body, content_type, _ = self.state.proxy_reply
            if drop:
                self.state.drop_after_store_remaining -= 1
            elif error:
                self.state.error_after_store_remaining -= 1
                error = self.state.error_after_store_status
            elif self.state.late_remaining > 0:
                self.state.late_remaining -= 1
                late = self.state.late_delay
        if drop:
            return self._drop()
        if proxied:
            return self._send(200, body, content_type)
        if error == 500:
            return self._json(500, hec_body(8))
        if error:
            phrase = {502: "Bad Gateway", 504: "Gateway Timeout"}[error]
            return self._send(error, f"<html><body><h1>{error} {phrase}</h1></body></html>", "text/html")
        if late:
            time.sleep(late)  # bounded by answer_late(); the client has usually given up by now
            self.close_connection = True
        try:
            self._json(200, hec_body(0) if ack_id is None else hec_body(0, ackId=ack_id))
        except OSError:  # the client closed the connection while we were late
            self.close_connection = True

    def _events(self, token: HecToken, channel: str | None, query: dict[str, list[str]], body: bytes) -> None:
        text = body.decode("utf-8", errors="replace")
        decoder = json.JSONDecoder()
        position, number = 0, 0
        accepted: list[StoredEvent] = []
        now = time.time()
        while True:
            while position < len(text) and text[position].isspace():
                position += 1
            if position >= len(text):
                break
            try:
                envelope, position = decoder.raw_decode(text, position)
            except json.JSONDecodeError:
                return self._reject(6, number, accepted)
            error, stored = self._envelope(token, envelope, now)
            if error is None and number == self._busy_at():
                error = 9  # queue full mid-request: Splunk keeps what it took and names where it stopped
            if error is not None:
                return self._reject(error, number, accepted)
            if stored is not None:
                accepted.append(stored)
            number += 1
        if number == 0:
            return self._json(400, hec_body(5))
        self.state.store(accepted)
        self._success(token, channel)

    def _busy_at(self) -> int | None:
        with self.state.lock:
            if self.state.busy_after_remaining > 0:
                return self.state.busy_after_events
        return None

    def _reject(self, code: int, number: int, accepted: list[StoredEvent]) -> None:
        """A bad object ends the batch: the events before it are indexed, like Splunk does."""
        self.state.store(accepted)
        if code == 9:
            with self.state.lock:
                self.state.busy_after_remaining -= 1
        self._json(HEC_STATUS[code][0], hec_body(code, **{"invalid-event-number": number}))

    def _envelope(self, token: HecToken, envelope: Any, now: float) -> tuple[int | None, StoredEvent | None]:
        if not isinstance(envelope, dict):
            return 6, None
        if "event" not in envelope:
            return 12, None  # also with "fields": Splunk requires the event
        event = envelope["event"]
        if event is None or event is False:
            return 6, None
        if isinstance(event, str) and not event.strip():
            return 13, None
        index = envelope.get("index") or token.default_index
        if not isinstance(index, str) or index not in self.state.indexes or (
            token.indexes is not None and index not in token.indexes
        ):
            return 7, None
        stamp = now
        if envelope.get("time") is not None:
            parsed = parse_hec_time(envelope["time"])
            if parsed is None:
                return 6, None
            stamp = parsed
        fields: dict[str, str | list[str]] = {}
        for key, value in (envelope.get("fields") or {}).items():
            if isinstance(value, list) and all(isinstance(v, (str, int, float)) and not isinstance(v, bool)
                                               for v in value):
                fields[key] = [splunk_str(v) for v in value]
            elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
                fields[key] = splunk_str(value)
            else:
                return 15, None
        sourcetype = str(envelope.get("sourcetype") or "httpevent")
        raw = event if isinstance(event, str) else json.dumps(event, separators=(",", ":"), ensure_ascii=False)
        return None, StoredEvent(
            time=round(stamp, 6),
            index=index,
            host=str(envelope.get("host") or "{}:{}".format(*self._address())),
            source=str(envelope.get("source") or "http:test"),
            sourcetype=sourcetype,
            raw=raw,
            indextime=int(now),
            serial=0,
            indexed=fields,
        )

    def _raw(self, token: HecToken, channel: str | None, query: dict[str, list[str]], body: bytes) -> None:
        lines = [line for line in body.decode("utf-8", errors="replace").splitlines() if line.strip()]
        if not lines:
            return self._json(400, hec_body(5))
        index = (query.get("index") or [token.default_index])[0]
        if index not in self.state.indexes or (token.indexes is not None and index not in token.indexes):
            return self._json(400, hec_body(7))
        now = time.time()
        events = [
            StoredEvent(
                time=round(now, 6), index=index, host=(query.get("host") or ["test"])[0],
                source=(query.get("source") or ["http:test"])[0],
                sourcetype=(query.get("sourcetype") or ["httpevent"])[0], raw=line, indextime=int(now), serial=0,
            )
            for line in lines
        ]
        self.state.store(events)
        self._success(token, channel)

    def _ack(self, token: HecToken, channel: str | None, query: dict[str, list[str]], body: bytes) -> None:
        try:
            ids = json.loads(body or b"null")["acks"]
            ids = [int(i) for i in ids]
        except (ValueError, TypeError, KeyError):
            return self._json(400, hec_body(6))
        now = time.monotonic()
        answer: dict[str, bool] = {}
        with self.state.lock:
            pending = self.state.acks.get(channel or "", {})
            for ack_id in ids:
                due = pending.get(ack_id)
                done = due is not None and due <= now
                answer[str(ack_id)] = done
                if done:
                    del pending[ack_id]  # Splunk forgets an id once it has answered true
        self._json(200, {"acks": answer})


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- management port
_NS = re.compile(r"^/servicesNS/[^/]+/[^/]+/")
XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
ATOM_NS = 'xmlns="http://www.w3.org/2005/Atom" xmlns:s="http://dev.splunk.com/ns/rest" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"'


def _xml_value(value: Any) -> str:
    if isinstance(value, dict):
        keys = "".join(f"<s:key name={quoteattr(k)}>{_xml_value(v)}</s:key>" for k, v in value.items())
        return f"<s:dict>{keys}</s:dict>"
    if isinstance(value, list):
        return "<s:list>" + "".join(f"<s:item>{_xml_value(v)}</s:item>" for v in value) + "</s:list>"
    return escape(str(value))


def _atom_updated(epoch: float | None = None) -> str:
    return datetime.fromtimestamp(epoch or time.time(), tz=timezone.utc).isoformat(timespec="seconds")


class _MgmtHandler(_Handler):
    role = "mgmt"

    def handle_request(
        self, path: str, query: dict[str, list[str]], body: bytes, encoding: str, gzip_error: bool
    ) -> None:
        params = {k: v[-1] for k, v in query.items()}
        if body and "x-www-form-urlencoded" in self.headers.get("Content-Type", "x-www-form-urlencoded"):
            form = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
            params.update({k: v[-1] for k, v in form.items()})
        path = _NS.sub("/services/", path).rstrip("/")
        self.output_mode = params.get("output_mode", "xml").lower()
        if path == "/services/auth/login" and self.command == "POST":
            return self._login(params)
        user = self._mgmt_auth()
        if user is None:
            return self._messages(401, "WARN", "call not properly authenticated")
        if path == "/services/server/info" and self.command in {"GET", "HEAD"}:
            return self._server_info()
        match = re.fullmatch(r"/services/search(?:/v2)?/jobs(?:/(?P<sid>[^/]+))?(?:/(?P<sub>[^/]+))?", path)
        if match:
            return self._jobs(match["sid"], match["sub"], params, user)
        return self._messages(404, "ERROR", "Not Found")

    # -- auth
    def _login(self, params: dict[str, str]) -> None:
        username, password = params.get("username", ""), params.get("password", "")
        if not username or self.state.users.get(username) != password:
            if self.output_mode == "json":
                return self._json(401, {"messages": [{"type": "WARN", "code": "incorrect_username_or_password",
                                                      "text": "Login failed"}]})
            body = (f'{XML_HEAD}<response>\n  <messages>\n'
                    '    <msg type="WARN" code="incorrect_username_or_password">Login failed</msg>\n'
                    '  </messages>\n</response>\n')
            return self._send(401, body, "text/xml; charset=UTF-8")
        key = secrets.token_urlsafe(24)
        with self.state.lock:
            self.state.sessions[key] = username
        headers = {}
        if params.get("cookie") == "1":
            headers["Set-Cookie"] = f"splunkd_{self._address()[1]}={key}; Path=/; HttpOnly; Max-Age=3600"
        if self.output_mode == "json":
            return self._json(200, {"sessionKey": key}, headers)
        body = f"{XML_HEAD}<response>\n  <sessionKey>{key}</sessionKey>\n</response>\n"
        self._send(200, body, "text/xml; charset=UTF-8", headers)

    def _mgmt_auth(self) -> str | None:
        state = self.state
        header = self.headers.get("Authorization", "").strip()
        scheme, _, credential = header.partition(" ")
        credential = credential.strip()
        with state.lock:
            if scheme.lower() == "splunk" and credential in state.sessions:
                return state.sessions[credential]
            if scheme.lower() == "bearer" and credential in state.bearer_tokens:
                return "token-user"
            if scheme.lower() == "basic":
                try:
                    user, _, password = base64.b64decode(credential).decode().partition(":")
                except (ValueError, UnicodeDecodeError):
                    return None
                return user if user and state.users.get(user) == password else None
            cookie = self.headers.get("Cookie", "")
            for part in cookie.split(";"):
                name, _, value = part.strip().partition("=")
                if name.startswith("splunkd_") and value in state.sessions:
                    return state.sessions[value]
        return None

    # -- replies
    def _messages(self, status: int, msg_type: str, text: str) -> None:
        if self.output_mode == "json":
            return self._json(status, {"messages": [{"type": msg_type, "text": text}]})
        body = (f'{XML_HEAD}<response>\n  <messages>\n    <msg type="{msg_type}">{escape(text)}</msg>\n'
                '  </messages>\n</response>\n')
        self._send(status, body, "text/xml; charset=UTF-8")

    def _entry_reply(self, name: str, href: str, content: dict[str, Any], *, feed: bool) -> None:
        updated = _atom_updated()
        if self.output_mode == "json":
            payload = {
                "links": {}, "origin": f"{self._origin()}{href}", "updated": updated,
                "generator": {"build": "test", "version": self.state.version},
                "entry": [{"name": name, "id": f"{self._origin()}{href}", "updated": updated,
                           "links": {"alternate": href}, "author": "system", "acl": {}, "content": content}],
                "paging": {"total": 1, "perPage": 30, "offset": 0}, "messages": [],
            }
            return self._json(200, payload)
        entry = (
            f"<entry>\n  <title>{escape(name)}</title>\n  <id>{self._origin()}{href}</id>\n"
            f"  <updated>{updated}</updated>\n"
            f'  <link href="{href}" rel="alternate"/>\n  <author>\n    <name>system</name>\n  </author>\n'
            f'  <content type="text/xml">\n    {_xml_value(content)}\n  </content>\n</entry>\n'
        )
        if feed:
            body = (
                f"{XML_HEAD}<feed {ATOM_NS}>\n<title>{escape(name)}</title>\n<id>{self._origin()}{href}</id>\n"
                f'<updated>{updated}</updated>\n<generator build="test" version="{self.state.version}"/>\n'
                f"<author>\n<name>Splunk</name>\n</author>\n<opensearch:totalResults>1</opensearch:totalResults>\n"
                f"<opensearch:itemsPerPage>30</opensearch:itemsPerPage>\n<opensearch:startIndex>0</opensearch:startIndex>\n"
                f"<s:messages/>\n{entry}</feed>\n"
            )
        else:
            body = XML_HEAD + entry.replace("<entry>", f"<entry {ATOM_NS}>", 1)
        self._send(200, body, "text/xml; charset=UTF-8")

    def _origin(self) -> str:
        host, port = self._address()
        return f"http://{host}:{port}"

    def _server_info(self) -> None:
        state = self.state
        content = {
            "build": "test", "cpu_arch": "x86_64", "guid": "00000000-0000-0000-0000-000000000000",
            "isFree": "0", "isTrial": "0", "mode": "normal", "os_name": "Linux",
            "product_type": "enterprise", "serverName": state.server_name, "version": state.version,
        }
        self._entry_reply("server-info", "/services/server/info/server-info", content, feed=True)

    # -- search
    def _jobs(self, sid: str | None, sub: str | None, params: dict[str, str], user: str) -> None:
        if sid in {None, "export"} and sub is None:
            with self.state.lock:
                refused = self.state.search_refused_remaining > 0
                self.state.search_refused_remaining -= refused
            if refused:
                return self._messages(503, "WARN", SEARCHES_FULL_TEXT)
        if sid == "export" and sub is None:
            if self.command not in {"GET", "POST"}:
                return self._messages(405, "ERROR", "Method Not Allowed")
            return self._export(params)
        if sid is None:
            if self.command != "POST":
                return self._messages(405, "ERROR", "Listing search jobs is not implemented by the Splunk test server")
            return self._create(params, user)
        with self.state.lock:
            job = self.state.jobs.get(sid)
        if job is None:
            return self._messages(404, "FATAL", "Unknown sid.")
        if sub is None:
            if self.command == "DELETE":
                with self.state.lock:
                    self.state.jobs.pop(sid, None)
                return self._messages(200, "INFO", "Search job cancelled.")
            return self._job_status(job)
        if sub in {"results", "results_preview", "events"}:
            return self._results(job, params)
        if sub == "control" and self.command == "POST":
            action = params.get("action", "")
            if action == "cancel":
                with self.state.lock:
                    self.state.jobs.pop(sid, None)
                return self._messages(200, "INFO", "Search job cancelled.")
            if action in {"finalize", "pause", "unpause", "touch", "enablepreview", "disablepreview"}:
                done = f"Search job {action}d." if action.endswith("e") else f"Search job {action}ed."
                return self._messages(200, "INFO", done)
            return self._messages(400, "ERROR", f"Unknown action: {action}")
        return self._messages(404, "ERROR", "Not Found")

    def _peer_down(self) -> str | None:
        """The search peer ``partial_peers`` took down for this search, if any (each search uses one)."""
        with self.state.lock:
            if self.state.partial_remaining <= 0:
                return None
            self.state.partial_remaining -= 1
            return self.state.partial_peer

    def _evaluate(self, params: dict[str, str]) -> tuple[ParsedSearch, Iterator[dict[str, Any]]]:
        """Parse and run a search; ``self.search_messages`` gets what Splunk would say about it."""
        now = time.time()
        query = params.get("search")
        self.search_messages: list[dict[str, str]] = []
        if query is None or not query.strip():
            raise SearchError("Empty search.")
        parsed = parse_spl(query, now)
        down = self._peer_down()
        if down is not None:  # Splunk answers with the other peers' events and says so
            self.search_messages.append({"type": "WARN", "text": self.state.partial_text or peer_down_text(down)})
        earliest, latest = time_bounds(parsed.filter.earliest, parsed.filter.latest, params, now)
        # Splunk's index-time bounds (_indextime)
        indexed = [request_time(params, name, now) for name in ("index_earliest", "index_latest")]
        events = self._matching(parsed.filter, earliest, latest, *indexed, tstats=parsed.tstats is not None,
                                down=down)
        if parsed.tstats is not None:
            rows = run_tstats(parsed.tstats, events, format_number)
        else:
            rows = (self._row(event) for event in events)
        return parsed, run_pipeline(rows, parsed.commands)

    def _matching(
        self, search: Filter, earliest: float | None, latest: float,
        index_earliest: float | None = None, index_latest: float | None = None, *, tstats: bool = False,
        down: str | None = None,
    ) -> Iterator[StoredEvent]:
        """Events in ``[earliest, latest)``, newest first, that meet the filter, leaving out peer ``down``'s.

        A filter naming an indexed field's exact values reads only those values' posting lists, as
        Splunk reads the tsidx lexicon: its cost follows the matches, not the size of the index.
        """
        state = self.state
        declared = state.indexed_fields
        keys = lookup_keys(search.expr, tstats=tstats, declared_indexed=declared)
        with state.lock:
            if keys is None:
                events = list(state.events)
            else:
                name, values = keys
                found: dict[int, StoredEvent] = {}
                for index in state.indexes:
                    for value in values:
                        for event in state.posted(index, name, value):
                            found[id(event)] = event
                events = list(found.values())
        events.sort(key=lambda e: (e.time, e.serial), reverse=True)
        matcher = Matcher(tstats=tstats, declared_indexed=declared)
        now = time.time()
        for event in events:
            if event.searchable_at > now:  # still being indexed
                continue
            if down is not None and PEERS[event.serial % len(PEERS)] == down:
                continue  # held by a search peer that is down
            if earliest is not None and event.time < earliest:
                continue
            if event.time >= latest:
                continue
            if index_earliest is not None and event.indextime < index_earliest:
                continue
            if index_latest is not None and event.indextime >= index_latest:
                continue
            if not search.names_index and event.index != "main":
                continue  # without index=, only the role's default index
            if matcher(search.expr, event):
                yield event

    def _row(self, event: StoredEvent) -> dict[str, Any]:
        row: dict[str, Any] = {
            "_bkt": f"{event.index}~0~00000000-0000-0000-0000-000000000000",
            "_cd": f"0:{event.serial}",
            "_indextime": str(event.indextime),
            "_raw": event.raw,
            "_serial": str(event.serial),
            "_si": [self.state.server_name, event.index],
            "_sourcetype": event.sourcetype,
            "_time": iso_time(event.time),
            "host": event.host,
            "index": event.index,
            "linecount": "1",
            "source": event.source,
            "sourcetype": event.sourcetype,
            "splunk_server": self.state.server_name,
        }
        for key, value in event.fields.items():
            row.setdefault(key, value)
        return row

    def _search_error(self, error: SearchError) -> None:
        self._messages(error.status, error.msg_type, error.text)

    def _create(self, params: dict[str, str], user: str) -> None:
        exec_mode = params.get("exec_mode", "normal").lower()
        if exec_mode not in {"normal", "blocking", "oneshot"}:
            return self._messages(400, "ERROR", f"Argument exec_mode has invalid value: {exec_mode}")
        try:
            parsed, rows = self._evaluate(params)
            rows_list = list(rows)
        except SearchError as error:
            return self._search_error(error)
        if exec_mode == "oneshot":
            return self._results_reply(rows_list, params, default_count=int(params.get("count", 100) or 0),
                                       messages=self.search_messages)
        with self.state.lock:
            sid = f"{time.time():.2f}_{len(self.state.jobs) + 1}"
            self.state.jobs[sid] = SearchJob(sid, params["search"], rows_list, parsed.transforming, user, time.time(),
                                             self.search_messages)
        if self.output_mode == "json":
            return self._json(201, {"sid": sid})
        self._send(201, f"{XML_HEAD}<response>\n  <sid>{sid}</sid>\n</response>\n", "text/xml; charset=UTF-8")

    def _job_status(self, job: SearchJob) -> None:
        count = str(len(job.rows))
        content = {
            "sid": job.sid, "dispatchState": "DONE", "isDone": "1", "isFailed": "0", "isFinalized": "0",
            "isPaused": "0", "isPreviewEnabled": "0", "isSaved": "0", "isZombie": "0", "doneProgress": "1.00000",
            "resultCount": count, "eventCount": "0" if job.transforming else count,
            "scanCount": count, "eventAvailableCount": count, "resultIsStreaming": "0" if job.transforming else "1",
            "reportSearch": job.search if job.transforming else "", "eventSearch": job.search,
            "published": _atom_updated(job.published), "runDuration": "0.001", "ttl": "600",
            "label": "", "delegate": "", "request": {"search": job.search},
            "eai:acl": {
                "app": "search", "can_write": "1", "modifiable": "1", "owner": job.owner,
                "perms": {"read": [job.owner], "write": [job.owner]}, "sharing": "global", "ttl": "600",
            },
        }
        self._entry_reply(job.search, f"/services/search/jobs/{job.sid}", content, feed=False)

    def _results(self, job: SearchJob, params: dict[str, str]) -> None:
        self._results_reply(job.rows, params, default_count=100, messages=job.messages)

    def _results_reply(self, rows: list[dict[str, Any]], params: dict[str, str], default_count: int,
                       messages: Sequence[dict[str, str]] = ()) -> None:
        """``results``: one document, paged by ``offset``/``count`` (default 100 as in Splunk, 0 = all)."""
        offset = int(params.get("offset", 0) or 0)
        count = int(params.get("count", default_count) or 0)
        page = rows[offset : offset + count] if count > 0 else rows[offset:]
        names: list[str] = []
        for row in page:
            names.extend(k for k in row if k not in names)
        if self.output_mode == "json":
            payload = {"preview": False, "init_offset": offset, "messages": list(messages),
                       "fields": [{"name": n} for n in names], "results": page}
            return self._json(200, payload)
        if self.output_mode in {"xml", "atom"}:
            return self._send(200, "".join(_xml_results(page, names, offset)), "text/xml; charset=UTF-8")
        return self._messages(400, "ERROR",
                                  f"output_mode={self.output_mode} is not implemented by the Splunk test server")

    def _export(self, params: dict[str, str]) -> None:
        """Streamed results: JSON lines ``{"preview":false,"offset":N,"result":{...}}``, last with ``lastrow``."""
        if self.output_mode not in {"json", "xml"}:
            return self._messages(400, "ERROR",
                                  f"output_mode={self.output_mode} is not implemented by the Splunk test server")
        try:
            parsed, rows = self._evaluate(params)
            if parsed.transforming:  # Splunk streams preview rows of a transforming search before the final ones
                final = list(rows)
                rows = iter(final)
            first = next(rows, None)
        except SearchError as error:
            return self._search_error(error)
        with self.state.lock:
            messages, self.state.export_messages = self.state.export_messages, []
        messages += [(0, m["type"], m["text"]) for m in self.search_messages]
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=UTF-8" if self.output_mode == "json"
                         else "text/xml; charset=UTF-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "Keep-Alive")
        self.end_headers()
        if self.output_mode == "json":
            preview = final if parsed.transforming else []
            chunks = _with_messages(_json_lines(first, rows, preview), messages)
        else:
            chunks = _xml_stream(first, rows)
        buffer: list[str] = []
        size = 0
        try:
            for piece in chunks:
                buffer.append(piece)
                size += len(piece)
                if size >= 32768:
                    self._chunk("".join(buffer))
                    buffer, size = [], 0
            if buffer:
                self._chunk("".join(buffer))
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):  # the client stopped reading: fine for a stream
            self.close_connection = True

    def _chunk(self, text: str) -> None:
        data = text.encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")


def _json_lines(first: dict[str, Any] | None, rows: Iterator[dict[str, Any]],
                preview: Sequence[dict[str, Any]] = ()) -> Iterator[str]:
    """Export JSON lines: ``preview`` rows first (``"preview":true``), then the results, the last with ``lastrow``."""
    for offset, row in enumerate(preview):
        yield json.dumps({"preview": True, "offset": offset, "result": row}, separators=(",", ":")) + "\n"
    if first is None:
        yield '{"preview":false,"lastrow":true}\n'
        return
    offset, current = 0, first
    for following in rows:
        yield json.dumps({"preview": False, "offset": offset, "result": current}, separators=(",", ":")) + "\n"
        offset, current = offset + 1, following
    yield json.dumps({"preview": False, "offset": offset, "lastrow": True, "result": current},
                     separators=(",", ":")) + "\n"


def _message_line(msg_type: str, text: str) -> str:
    """One in-stream message of an export, as Splunk writes it between result lines."""
    return json.dumps({"preview": False, "messages": [{"type": msg_type, "text": text}]}, separators=(",", ":")) + "\n"


def _with_messages(lines: Iterator[str], messages: list[tuple[int, str, str]]) -> Iterator[str]:
    """Insert in-stream ``{"preview":false,"messages":[...]}`` lines after the given number of final results."""
    pending = sorted(messages)
    results = 0

    def due() -> Iterator[str]:
        while pending and pending[0][0] <= results:
            _, msg_type, text = pending.pop(0)
            yield _message_line(msg_type, text)

    yield from due()
    for line in lines:
        if '"preview":false' in line[:20] and '"result"' in line:
            yield line
            results += 1
            yield from due()
        else:
            yield line
    for _, msg_type, text in pending:
        yield _message_line(msg_type, text)


def _xml_result(row: dict[str, Any], offset: int) -> str:
    fields = []
    for key, value in row.items():
        values = value if isinstance(value, list) else [value]
        if key == "_raw":
            fields.append(f"<field k='_raw'><v xml:space='preserve' trunc='0'>{escape(str(value))}</v></field>")
        else:
            inner = "".join(f"<value><text>{escape(str(v))}</text></value>" for v in values)
            fields.append(f"<field k={quoteattr(key)}>{inner}</field>")
    return f"<result offset='{offset}'>" + "".join(fields) + "</result>\n"


def _xml_results(rows: list[dict[str, Any]], names: list[str], offset: int) -> Iterator[str]:
    yield "<?xml version='1.0' encoding='UTF-8'?>\n<results preview='0'>\n<meta>\n<fieldOrder>\n"
    yield "".join(f"<field>{escape(n)}</field>\n" for n in names)
    yield "</fieldOrder>\n</meta>\n"
    for number, row in enumerate(rows, offset):
        yield _xml_result(row, number)
    yield "</results>\n"


def _xml_stream(first: dict[str, Any] | None, rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    yield "<?xml version='1.0' encoding='UTF-8'?>\n<results preview='0'>\n"
    if first is not None:
        yield _xml_result(first, 0)
        for number, row in enumerate(rows, 1):
            yield _xml_result(row, number)
    yield "</results>\n"


# --------------------------------------------------------------------------- the server object
class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class SplunkTestServer:
    """Start HEC and management listeners on 127.0.0.1 (free ports); use as a context manager.

    :param hec_token: the token HEC accepts (with ``ack`` and ``token_indexes``); more via ``tokens``.
    :param username: / :param password: the management user; ``bearer_tokens`` also authenticate.
    :param indexes: indexes that exist (``main`` always does).
    :param ack_delay: seconds before an acknowledged batch counts as indexed.
    :param search_lag: seconds between storing an event and a search finding it (Splunk's indexing lag).
    :param single_port: serve HEC and management on one port (real Splunk uses two).
    :param indexed_fields: fields declared ``INDEXED = true`` in fields.conf (``field=value`` then reads
        the index, without looking for the value in the raw event).
    """

    def __init__(
        self,
        *,
        hec_token: str | None = None,
        ack: bool = False,
        token_indexes: Iterable[str] | None = None,
        tokens: Iterable[HecToken] = (),
        username: str = "admin",
        password: str | None = None,
        bearer_tokens: Iterable[str] = (),
        indexes: Iterable[str] = ("main", "dicom"),
        version: str = DEFAULT_VERSION,
        max_content_length: int = 1_000_000,
        ack_delay: float = 0.0,
        persist_path: str | Path | None = None,
        single_port: bool = False,
        search_lag: float = 0.0,
        indexed_fields: Iterable[str] = (),
    ) -> None:
        self.hec_token = hec_token or str(uuid.uuid4())
        self.password = password or secrets.token_urlsafe(12)
        self.username = username
        main_token = HecToken(self.hec_token, tuple(token_indexes) if token_indexes is not None else None, ack=ack)
        self.state = SplunkState(
            tokens=[main_token, *tokens],
            users={username: self.password},
            bearer_tokens=bearer_tokens,
            indexes=indexes,
            version=version,
            max_content_length=max_content_length,
            ack_delay=ack_delay,
            persist_path=Path(persist_path) if persist_path else None,
            server_name="splunk-test",
            search_lag=search_lag,
            indexed_fields=indexed_fields,
        )
        self.single_port = single_port
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []

    # -- lifecycle
    def start(self) -> SplunkTestServer:
        if self.single_port:
            self._servers = [_Server(("127.0.0.1", 0), _CombinedHandler)]
        else:
            self._servers = [_Server(("127.0.0.1", 0), _HecHandler), _Server(("127.0.0.1", 0), _MgmtHandler)]
        for server in self._servers:
            server.state = self.state  # type: ignore[attr-defined]
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers, self._threads = [], []

    def __enter__(self) -> SplunkTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses
    @property
    def hec_port(self) -> int:
        return self._servers[0].server_address[1]

    @property
    def mgmt_port(self) -> int:
        return self._servers[-1].server_address[1]

    @property
    def hec_url(self) -> str:
        return f"http://127.0.0.1:{self.hec_port}"

    @property
    def mgmt_url(self) -> str:
        return f"http://127.0.0.1:{self.mgmt_port}"

    def connection_json(self, index: str = "dicom") -> str:
        """This server as an Airflow ``splunk`` connection, in the JSON form ``AIRFLOW_CONN_*`` takes."""
        return json.dumps({
            "conn_type": "splunk", "host": "127.0.0.1", "port": self.mgmt_port,
            "login": self.username, "password": self.password,
            "extra": {"scheme": "http", "hec_port": self.hec_port, "hec_token": self.hec_token, "index": index},
        })

    def url(self, index: str = "main", **extra: Any) -> str:
        """A ``SplunkHook.from_url`` URL for this server (it carries credentials: never log it)."""
        fields = {"hec_port": self.hec_port, "hec_token": self.hec_token, "index": index, **extra}
        query = "&".join(f"{k}={v}" for k, v in fields.items())
        return f"http://{self.username}:{self.password}@127.0.0.1:{self.mgmt_port}?{query}"

    # -- inspection
    @property
    def events(self) -> list[StoredEvent]:
        with self.state.lock:
            return list(self.state.events)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self.state.lock:
            return list(self.state.requests)

    def clear(self) -> None:
        with self.state.lock:
            self.state.clear_events()
            self.state.requests.clear()

    def add_event(self, event: Any, *, time_: float, index: str = "main", sourcetype: str = "_json",
                  host: str = "test", source: str = "test", fields: dict[str, str | list[str]] | None = None,
                  indextime: float | None = None) -> None:
        """Index an event directly (bypassing HEC), e.g. to set up a search test; ``fields`` are indexed
        fields, ``indextime`` when it was indexed (default now)."""
        raw = event if isinstance(event, str) else json.dumps(event, separators=(",", ":"), ensure_ascii=False)
        indexed = int(time.time() if indextime is None else indextime)
        self.state.store([StoredEvent(time_, index, host, source, sourcetype, raw, indexed, 0, dict(fields or {}))])

    def export_message(self, msg_type: str, text: str, after_rows: int = 0) -> None:
        """Put an in-stream message (``{"messages":[...]}`` line) into the next export, after ``after_rows`` results."""
        with self.state.lock:
            self.state.export_messages.append((after_rows, msg_type, text))

    # -- faults
    def busy(self, count: int) -> None:
        """Answer the next ``count`` HEC event requests with 503 "Server is busy"."""
        with self.state.lock:
            self.state.busy_remaining = count

    def busy_after(self, accepted: int, count: int = 1) -> None:
        """On the next ``count`` event requests, index the first ``accepted`` envelopes, then answer
        503 "Server is busy" with ``invalid-event-number`` = ``accepted``."""
        with self.state.lock:
            self.state.busy_after_events, self.state.busy_after_remaining = accepted, count

    def busy_forever(self) -> None:
        with self.state.lock:
            self.state.busy_always = True

    def drop(self, count: int) -> None:
        """Close the connection, without any reply, on the next ``count`` HEC requests."""
        with self.state.lock:
            self.state.drop_remaining = count

    def answer_late(self, count: int, delay: float) -> None:
        """Store the events of the next ``count`` HEC requests, then answer only after ``delay`` seconds
        (at most 30), i.e. after a client's read timeout: the client cannot know they were indexed."""
        if not 0 < delay <= 30:
            raise ValueError("delay must be in (0, 30] seconds")
        with self.state.lock:
            self.state.late_remaining, self.state.late_delay = count, delay

    def drop_after_store(self, count: int) -> None:
        """Store the events of the next ``count`` HEC requests, then close the connection without a reply."""
        with self.state.lock:
            self.state.drop_after_store_remaining = count

    def error_after_store(self, count: int, status: int = 500) -> None:
        """Store the events of the next ``count`` HEC requests, then answer ``status``: 500 with Splunk's
        "Internal server error" (code 8), or 502/504 as a load balancer's HTML page would."""
        if status not in {500, 502, 504}:
            raise ValueError("status must be 500, 502 or 504")
        with self.state.lock:
            self.state.error_after_store_remaining, self.state.error_after_store_status = count, status

    def proxy_answers(self, count: int, body: str, content_type: str = "text/html", *, store: bool = False) -> None:
        """A proxy in front of HEC answers the next ``count`` event requests with 200 and ``body`` itself.

        By default it forwards nothing (a login or error page, a loose imitation such as
        ``{"code":0}``); with ``store`` it forwards the request to HEC (the events are stored) and
        puts its own body in place of Splunk's reply.
        """
        with self.state.lock:
            self.state.proxy_remaining, self.state.proxy_reply = count, (body, content_type, store)

    def partial_peers(self, count: int, peer: str = PEERS[-1], text: str | None = None) -> None:
        """Take search peer ``peer`` down for the next ``count`` searches: they answer without the
        events it holds and with a WARN message, ``text`` or Splunk's "Unable to distribute to peer"."""
        if peer not in PEERS:
            raise ValueError(f"peer must be one of {PEERS}")
        with self.state.lock:
            self.state.partial_remaining, self.state.partial_peer, self.state.partial_text = count, peer, text or ""

    def searches_refused(self, count: int) -> None:
        """Refuse the next ``count`` new searches (export or job) with Splunk's 503: too many searches at once."""
        with self.state.lock:
            self.state.search_refused_remaining = count

    def slow_hec(self, seconds: float) -> None:
        """Every HEC request from now on is handled ``seconds`` late (0: at once): a slow, healthy index."""
        if not 0 <= seconds <= 5:
            raise ValueError("seconds must be in [0, 5]")
        with self.state.lock:
            self.state.hec_pause = seconds

    def set_search_lag(self, seconds: float) -> None:
        """Events stored from now on are found by searches only ``seconds`` later."""
        with self.state.lock:
            self.state.search_lag = seconds

    def reset_faults(self) -> None:
        with self.state.lock:
            self.state.busy_remaining = self.state.drop_remaining = self.state.busy_after_remaining = 0
            self.state.late_remaining = self.state.drop_after_store_remaining = 0
            self.state.error_after_store_remaining = self.state.proxy_remaining = self.state.partial_remaining = 0
            self.state.search_refused_remaining = 0
            self.state.busy_always = False


class _CombinedHandler(_MgmtHandler, _HecHandler):
    """One port for both APIs (real Splunk uses two): HEC paths go to the HEC logic."""

    def handle_request(
        self, path: str, query: dict[str, list[str]], body: bytes, encoding: str, gzip_error: bool
    ) -> None:
        handler = _HecHandler if path.startswith("/services/collector") else _MgmtHandler
        handler.handle_request(self, path, query, body, encoding, gzip_error)
