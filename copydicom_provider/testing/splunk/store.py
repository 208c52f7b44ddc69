"""What the Splunk-compatible test server (not Splunk) keeps: events and their indexes' posting lists, HEC
tokens, users and sessions, acknowledgements, search jobs and the requests it received."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copydicom_provider.testing.splunk.events import StoredEvent
from copydicom_provider.testing.splunk.faults import FaultSwitches


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
        self.faults = FaultSwitches(self.lock)  # the fault switches, under the same lock
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
