"""The Splunk-compatible test server (not Splunk) itself: its listeners, start and stop, and what a test asks of it.

HEC and management on two free ports of 127.0.0.1 (or one, with ``single_port``), served by threads;
the test's handle for adding and inspecting events and for switching faults on.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterable
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from copydicom_provider.testing.splunk.events import StoredEvent
from copydicom_provider.testing.splunk.faults import PEERS
from copydicom_provider.testing.splunk.hec import HecHandler
from copydicom_provider.testing.splunk.mgmt import MgmtHandler
from copydicom_provider.testing.splunk.store import HecToken, RecordedRequest, SplunkState

DEFAULT_VERSION = "9.1.2"


class ThreadedServer(ThreadingHTTPServer):
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
        self._servers: list[ThreadedServer] = []
        self._threads: list[threading.Thread] = []

    # -- lifecycle
    def start(self) -> SplunkTestServer:
        if self.single_port:
            self._servers = [ThreadedServer(("127.0.0.1", 0), CombinedHandler)]
        else:
            self._servers = [ThreadedServer(("127.0.0.1", 0), handler) for handler in (HecHandler, MgmtHandler)]
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

    # -- faults (the switches and their documentation: faults.FaultSwitches)
    def busy(self, count: int) -> None:
        self.state.faults.busy(count)

    def busy_after(self, accepted: int, count: int = 1) -> None:
        self.state.faults.busy_after(accepted, count)

    def busy_forever(self) -> None:
        self.state.faults.busy_forever()

    def drop(self, count: int) -> None:
        self.state.faults.drop(count)

    def answer_late(self, count: int, delay: float) -> None:
        self.state.faults.answer_late(count, delay)

    def drop_after_store(self, count: int) -> None:
        self.state.faults.drop_after_store(count)

    def error_after_store(self, count: int, status: int = 500) -> None:
        self.state.faults.error_after_store(count, status)

    def proxy_answers(self, count: int, body: str, content_type: str = "text/html", *, store: bool = False) -> None:
        self.state.faults.proxy_answers(count, body, content_type, store=store)

    def partial_peers(self, count: int, peer: str = PEERS[-1], text: str | None = None) -> None:
        self.state.faults.partial_peers(count, peer, text)

    def searches_refused(self, count: int) -> None:
        self.state.faults.searches_refused(count)

    def slow_hec(self, seconds: float) -> None:
        self.state.faults.slow_hec(seconds)

    def set_search_lag(self, seconds: float) -> None:
        """Events stored from now on are found by searches only ``seconds`` later."""
        with self.state.lock:
            self.state.search_lag = seconds

    def reset_faults(self) -> None:
        self.state.faults.reset()


class CombinedHandler(MgmtHandler, HecHandler):
    """One port for both APIs (real Splunk uses two): HEC paths go to the HEC logic."""

    def handle_request(
        self, path: str, query: dict[str, list[str]], body: bytes, encoding: str, gzip_error: bool
    ) -> None:
        handler = HecHandler if path.startswith("/services/collector") else MgmtHandler
        handler.handle_request(self, path, query, body, encoding, gzip_error)
