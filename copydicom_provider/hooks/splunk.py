"""Airflow hook for Splunk: send events over the HTTP Event Collector, search over the REST API.

Splunk listens on two ports: HEC (8088, ``Authorization: Splunk <hec token>``) receives events, the
management port (8089, a user's login/password or a bearer token) runs searches. One hook covers both
with one pooled ``requests.Session``.

Sending follows what Splunk's own forwarders and the OpenTelemetry/Vector HEC exporters do: many
envelopes per request (concatenated JSON objects), batches capped by count and bytes, gzip once a
body is large enough to pay for it, retries with capped exponential backoff and jitter (``tenacity``)
on 408/429/5xx and connection errors, and none on other 4xx, which are permanent and reported with
Splunk's own ``text``. Splunk has no uniqueness check at ingest, so a retry after a partial failure
resends only from ``invalid-event-number``: the events before it were indexed already. With ``ack``
on, "sent" means "indexed": the hook polls ``/services/collector/ack`` for every batch's ``ackId``.

Exactly once: a failure after the body went out (read timeout, connection dropped, a 5xx that is not
Splunk's own "busy" refusal) leaves it unknown whether Splunk indexed the batch, and a plain resend
would index it twice. When the caller names a ``dedupe_field`` (an indexed field holding a unique key
per envelope), the hook then asks the index which keys of the batch it holds, polling for up to
``settle_delay`` seconds because Splunk makes events searchable a few seconds after accepting them,
and resends only the others. A batch whose reply was lost has no ``ackId``, so acks cannot settle it;
they still confirm every batch whose reply arrived.

Searching uses ``/services/search/jobs/export`` with ``output_mode=json``: one request, results
streamed as JSON lines and yielded one by one, so a large result set never sits in memory.

Why not ``splunk-sdk`` (splunklib) for the search side: its ``JSONResultsReader`` reads the response
with ``readlines()``, i.e. the whole export in memory, which defeats streaming; its 3.x line needs
Python >= 3.13, so supporting Python 3.10-3.12 would mean pinning the 2.1 line for one endpoint; it
brings its own HTTP layer (no shared session, pool, TLS settings or retry with the HEC side) and an
extra ``server/info`` round trip to choose API paths. The export call is one POST, so it is written
here; the test suite still runs splunklib against the Splunk test server, so an SDK user is covered.

Secrets (HEC token, password, bearer token, session key) are registered with Airflow's secrets
masker and never put into log lines, exception messages or return values.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.etree import ElementTree

import requests
from airflow.exceptions import AirflowException
from airflow.sdk import Connection
from airflow.sdk.bases.hook import BaseHook
from airflow.sdk.log import mask_secret
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from copydicom_provider.connection_forms import SPLUNK_CONNECTION_TYPE, field_behaviour, form_widgets
from copydicom_provider.conversions import as_bool, as_number

#: Statuses worth another try: request timeout, throttling, and every server-side error.
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
#: HEC codes of Splunk's own "busy" refusals: definite answers, nothing from ``invalid-event-number`` on was taken.
BUSY_CODES = frozenset({9, 18})
HEALTHY_CODE = 17
NO_DATA_CODE = 5


# --------------------------------------------------------------------------- errors
class SplunkError(AirflowException):
    """A Splunk request failed; the message names the side, the endpoint and Splunk's own text."""

    def __init__(
        self, message: str, *, status: int | None = None, code: int | None = None, text: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.text = text


class SplunkHecError(SplunkError):
    """HEC refused events or never accepted them; ``accepted`` events were indexed before it happened."""

    def __init__(self, message: str, *, accepted: int = 0, event_number: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.accepted = accepted
        self.event_number = event_number


class SplunkSearchError(SplunkError):
    """The management port refused a search or a call; carries Splunk's message text."""


class _Transient(Exception):
    """A failure worth retrying (connection error, 408/429/5xx); ``reason`` is safe to show."""

    def __init__(
        self, reason: str, status: int | None = None, code: int | None = None, text: str | None = None
    ) -> None:
        super().__init__(reason)
        self.reason, self.status, self.code, self.text = reason, status, code, text


class _TooLarge(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


# --------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class SplunkSettings:
    """The connection's non-secret extras, typed (URI-style connections deliver strings)."""

    scheme: str = "https"
    hec_scheme: str = "https"
    hec_host: str | None = None
    hec_port: int = 8088
    verify: bool = True
    index: str | None = None
    sourcetype: str = "_json"
    source: str | None = None
    host: str | None = None
    timeout: float = 30.0
    ack: bool = False
    settle_delay: float = 10.0

    @classmethod
    def from_extra(cls, extra: Mapping[str, Any]) -> SplunkSettings:
        extra = {key.removeprefix("extra__splunk__"): value for key, value in extra.items()}
        scheme = str(extra.get("scheme") or "").lower()
        if not scheme and "use_https" in extra:
            scheme = "https" if as_bool(extra["use_https"], True) else "http"
        scheme = scheme or "https"
        if scheme not in {"http", "https"}:
            raise ValueError(f"scheme must be http or https, not {scheme!r}")
        return cls(
            scheme=scheme,
            hec_scheme=str(extra.get("hec_scheme") or scheme).lower(),
            hec_host=extra.get("hec_host") or None,
            hec_port=int(as_number(extra.get("hec_port"), 8088)),
            verify=as_bool(extra.get("verify", extra.get("verify_ssl")), True),
            index=extra.get("index") or None,
            sourcetype=str(extra.get("sourcetype") or "_json"),
            source=extra.get("source") or None,
            host=extra.get("event_host") or None,
            timeout=as_number(extra.get("timeout"), 30.0),
            ack=as_bool(extra.get("ack"), False),
            settle_delay=as_number(extra.get("settle_delay"), 10.0),
        )


@dataclass
class HecSendResult:
    """What a send did: events accepted, requests and retries it took, and the acknowledged batches."""

    events: int = 0
    batches: int = 0
    requests: int = 0
    retries: int = 0
    bytes_sent: int = 0
    acknowledged: int = 0
    #: events found already indexed after a lost reply, and therefore not sent again
    reconciled: int = 0
    ack_ids: list[int] = field(default_factory=list, repr=False)


@dataclass
class _Batch:
    """Encoded envelopes still to send, with each one's send-wide number and, when deduping, its key.

    ``indexes`` are the indexes the envelopes go to (searched when asking which keys are indexed);
    ``unsure`` holds why the last attempt may have been indexed although no answer said so.
    """

    events: list[bytes]
    numbers: list[int]
    keys: list[str] | None = None
    indexes: frozenset[str] = frozenset()
    unsure: str | None = None

    @property
    def first(self) -> int:
        return self.numbers[0]

    def span(self) -> str:
        first, last = self.numbers[0], self.numbers[-1]
        return f"event {first}" if first == last else f"events {first}-{last}"

    def advance(self, count: int) -> None:
        self.events, self.numbers = self.events[count:], self.numbers[count:]
        if self.keys is not None:
            self.keys = self.keys[count:]

    def part(self, start: int, stop: int | None = None) -> _Batch:
        keys = self.keys[start:stop] if self.keys is not None else None
        return _Batch(self.events[start:stop], self.numbers[start:stop], keys, self.indexes)

    def discard(self, present: Collection[str]) -> int:
        """Drop the envelopes whose key is in ``present``; returns how many went."""
        if self.keys is None:
            return 0
        keep = [n for n, key in enumerate(self.keys) if key not in present]
        dropped = len(self.keys) - len(keep)
        self.events = [self.events[n] for n in keep]
        self.numbers = [self.numbers[n] for n in keep]
        self.keys = [self.keys[n] for n in keep]
        return dropped


# --------------------------------------------------------------------------- the hook
class SplunkHook(BaseHook):
    """Send events to and search events in Splunk, through an Airflow connection of type ``splunk``.

    :param splunk_conn_id: connection with host, management port, login/password (or extra ``token``)
        and extras ``hec_token``, ``hec_port``, ``hec_host``, ``scheme``, ``verify``, ``index``,
        ``sourcetype``, ``timeout``, ``ack``.
    :param max_batch_events: / :param max_batch_bytes: cap of one HEC request (uncompressed bytes;
        Splunk Cloud refuses bodies over 1 MB).
    :param gzip_min_bytes: bodies at least this large are sent gzip-compressed.
    :param retry_attempts: requests per batch before giving up on 408/429/5xx/connection errors.
    :param backoff_initial: / :param backoff_max: exponential backoff (seconds) between them, with
        up to ``backoff_initial`` of random jitter.
    :param ack_timeout: / :param ack_poll_interval: how long and how often to poll for acks.
    :param settle_delay: after a lost HEC reply, how long (seconds) to keep asking the index for the
        batch's keys before resending the ones it lacks; default: the connection's extra
        ``settle_delay``, else 10. Longer than Splunk's indexing lag means no duplicate.
    :param settle_poll_interval: how often to ask within ``settle_delay``.
    """

    conn_name_attr = "splunk_conn_id"
    default_conn_name = "splunk_default"
    conn_type = "splunk"
    hook_name = "Splunk"

    def __init__(
        self,
        splunk_conn_id: str = default_conn_name,
        *,
        max_batch_events: int = 1000,
        max_batch_bytes: int = 900_000,
        gzip_min_bytes: int = 64 * 1024,
        retry_attempts: int = 6,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        ack_timeout: float = 300.0,
        ack_poll_interval: float = 0.5,
        settle_delay: float | None = None,
        settle_poll_interval: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if max_batch_events < 1 or max_batch_bytes < 1 or retry_attempts < 1:
            raise ValueError("max_batch_events, max_batch_bytes and retry_attempts must be at least 1")
        self.splunk_conn_id = splunk_conn_id
        self.max_batch_events = max_batch_events
        self.max_batch_bytes = max_batch_bytes
        self.gzip_min_bytes = gzip_min_bytes
        self.retry_attempts = retry_attempts
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.ack_timeout = ack_timeout
        self.ack_poll_interval = ack_poll_interval
        self._settle_delay = settle_delay
        self.settle_poll_interval = settle_poll_interval
        self._connection: Connection | None = None
        self._session: requests.Session | None = None
        self._settings: SplunkSettings | None = None
        self._hec_token: str | None = None
        self._password: str | None = None
        self._bearer: str | None = None
        self._session_key: str | None = None
        self._channel = str(uuid.uuid4())

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_url(cls, url: str, conn_id: str = "splunk_url", **hook_kwargs: Any) -> SplunkHook:
        """Build a hook without any Airflow metadata database (CLI, scripts).

        URL form: ``http[s]://[user:password@]host[:management_port][?key=value&...]`` where the
        query carries the connection extras: ``hec_token``, ``hec_port`` (8088), ``hec_host``,
        ``token`` (bearer token for searches), ``index``, ``sourcetype`` (``_json``), ``verify``,
        ``timeout``, ``ack``, ``settle_delay``. The URL's scheme applies to both ports (``hec_scheme`` overrides it
        for HEC); ``splunk://`` means https. Percent-encode reserved characters in credentials.
        Example: ``https://admin:pw@splunk.example.org:8089?hec_port=8088&hec_token=T&index=dicom``.
        Keyword arguments go to the hook (batch sizes, retries).
        """
        parts = urlsplit(url)
        scheme = {"http": "http", "https": "https", "splunk": "https"}.get(parts.scheme.lower())
        if scheme is None or not parts.hostname:
            raise ValueError(f"Not a Splunk URL (expected http[s]://[user:password@]host:port?...): {_redact_url(url)}")
        extra: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
        extra.setdefault("scheme", scheme)
        try:
            port = parts.port or 8089
        except ValueError:
            raise ValueError(f"Not a valid port in Splunk URL {_redact_url(url)}") from None
        connection = Connection(
            conn_id=conn_id,
            conn_type="splunk",
            host=parts.hostname,
            port=port,
            login=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            extra=json.dumps(extra),
        )
        return cls.from_connection(connection, **hook_kwargs)

    @classmethod
    def from_connection(cls, connection: Connection, **hook_kwargs: Any) -> SplunkHook:
        """Wrap an already resolved connection object."""
        hook = cls(splunk_conn_id=connection.conn_id, **hook_kwargs)
        hook._connection = connection
        return hook

    def get_connection(self, conn_id: str) -> Connection:  # type: ignore[override]
        if self._connection is None:
            self._connection = super().get_connection(conn_id)
        return self._connection

    @property
    def settings(self) -> SplunkSettings:
        self._load()
        assert self._settings is not None
        return self._settings

    @property
    def settle_delay(self) -> float:
        """Seconds to wait for a batch whose reply was lost to become searchable (see the module doc)."""
        return self._settle_delay if self._settle_delay is not None else self.settings.settle_delay

    def _load(self) -> None:
        """Read the connection once; register every secret with the masker before anything can log."""
        if self._settings is not None:
            return
        connection = self.get_connection(self.splunk_conn_id)
        extra = {key.removeprefix("extra__splunk__"): value for key, value in connection.extra_dejson.items()}
        self._hec_token = extra.get("hec_token") or None
        self._bearer = extra.get("token") or None
        self._password = connection.password or None
        for secret in (self._hec_token, self._bearer, self._password):
            if secret:
                mask_secret(secret)
        settings = SplunkSettings.from_extra(extra)
        host = (connection.host or "localhost").strip().rstrip("/")
        if "://" in host:  # a host given as a URL sets the scheme
            url_parts = urlsplit(host)
            host = url_parts.hostname or host
            if "scheme" not in extra and "use_https" not in extra:
                settings = SplunkSettings.from_extra({**extra, "scheme": url_parts.scheme})
        self._settings = settings
        self.mgmt_url = f"{settings.scheme}://{_netloc(host, connection.port or 8089)}"
        self.hec_url = f"{settings.hec_scheme}://{_netloc(settings.hec_host or host, settings.hec_port)}"
        self._login = connection.login or None

    def get_conn(self) -> requests.Session:
        """One pooled session per hook for both ports; auth is set per request, never on the session."""
        if self._session is None:
            self._load()
            session = requests.Session()
            session.verify = self.settings.verify
            adapter = HTTPAdapter(pool_connections=2, pool_maxsize=4, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._session = session
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self) -> SplunkHook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ envelopes
    def envelope(
        self,
        event: Any,
        *,
        time: float | int | str | datetime | None = None,  # noqa: A002 - Splunk's field name
        host: str | None = None,
        source: str | None = None,
        sourcetype: str | None = None,
        index: str | None = None,
        fields: Mapping[str, str | list[str]] | None = None,
    ) -> dict[str, Any]:
        """Splunk's HEC envelope in its documented key order; defaults come from the connection."""
        settings = self.settings
        envelope: dict[str, Any] = {}
        if time is not None:
            envelope["time"] = epoch_seconds(time)
        if host or settings.host:
            envelope["host"] = host or settings.host
        if source or settings.source:
            envelope["source"] = source or settings.source
        envelope["sourcetype"] = sourcetype or settings.sourcetype
        if index or settings.index:
            envelope["index"] = index or settings.index
        envelope["event"] = event
        if fields:
            envelope["fields"] = _checked_fields(fields)
        return envelope

    def send_events(
        self,
        events: Iterable[Any],
        *,
        time_field: str | None = None,
        host: str | None = None,
        source: str | None = None,
        sourcetype: str | None = None,
        index: str | None = None,
        fields: Mapping[str, str | list[str]] | None = None,
    ) -> HecSendResult:
        """Wrap each event (usually a dict) in an envelope and send them all in batches.

        ``time_field`` names the key of each event holding its time (epoch seconds, ISO 8601 string
        or datetime); without it Splunk stamps the receipt time.
        """
        def envelopes() -> Iterator[dict[str, Any]]:
            for event in events:
                stamp = event.get(time_field) if time_field and isinstance(event, Mapping) else None
                yield self.envelope(
                    event, time=stamp, host=host, source=source, sourcetype=sourcetype, index=index, fields=fields
                )

        return self.send_envelopes(envelopes())

    def send_envelopes(
        self,
        envelopes: Iterable[Mapping[str, Any]],
        *,
        dedupe_field: str | None = None,
        held: Callable[[Sequence[str]], Iterable[str]] | None = None,
    ) -> HecSendResult:
        """Send ready-made HEC envelopes (each needs ``event``) in batches capped by count and bytes.

        ``dedupe_field`` names an indexed field (in each envelope's ``fields``) holding a key unique
        to that envelope: after a lost reply only the keys the index lacks are resent, so nothing is
        indexed twice. ``held(keys)`` answers which of ``keys`` the index holds; by default the hook
        searches for them itself (which needs search credentials; the key must be findable as
        ``field IN (...)``, i.e. also in the event text or declared indexed in ``fields.conf``).
        Without ``dedupe_field`` a batch whose reply was lost is resent whole and may be indexed
        twice (a warning says so).
        """
        self._require_hec_token()
        result = HecSendResult()
        checker: _Checker | None = None
        if dedupe_field is not None and held is not None:
            checker = lambda keys, _indexes: held(keys)  # noqa: E731 - the caller's check knows its scope
        elif dedupe_field is not None:
            checker = lambda keys, indexes: self.indexed_values(dedupe_field, keys, indexes=indexes)  # noqa: E731
        batch: list[bytes] = []
        keys: list[str] = []
        indexes: set[str] = set()
        size = number = 0

        def flush() -> None:
            numbers = list(range(number - len(batch), number))
            target = _Batch(batch, numbers, keys if dedupe_field else None, frozenset(indexes))
            self._deliver(target, result, checker)

        for envelope in envelopes:
            encoded = _encode_envelope(envelope, number)
            if batch and (len(batch) >= self.max_batch_events or size + len(encoded) > self.max_batch_bytes):
                flush()
                batch, keys, indexes, size = [], [], set(), 0
            if dedupe_field is not None:
                keys.append(_dedupe_key(envelope, dedupe_field, number))
                index = envelope.get("index") or self.settings.index
                if index:
                    indexes.add(str(index))
            batch.append(encoded)
            size += len(encoded)
            number += 1
        if batch:
            flush()
        if self.settings.ack and result.ack_ids:
            self._wait_for_acks(result)
        self.log.info(
            "Sent %d events to Splunk HEC at %s in %d batches (%d requests, %d retries%s)",
            result.events, self.hec_url, result.batches, result.requests, result.retries,
            f", {result.reconciled} found indexed after a lost reply" if result.reconciled else "",
        )
        return result

    def indexed_values(
        self, field_name: str, values: Sequence[str], *, indexes: Iterable[str] | None = None, per_search: int = 200
    ) -> set[str]:
        """Which of ``values`` the index holds in the indexed field ``field_name``, over all time.

        One search per ``per_search`` values (``field IN (...)``, deduplicated, only that field
        returned), scoped to ``indexes`` when given (otherwise the user's default indexes).
        """
        found: set[str] = set()
        wanted = list(dict.fromkeys(values))
        scope_list = sorted(set(indexes or ()))
        if len(scope_list) == 1:
            scope = f"index={_spl_quoted(scope_list[0])} "
        elif scope_list:
            scope = f"index IN ({', '.join(_spl_quoted(i) for i in scope_list)}) "
        else:
            scope = ""
        for start in range(0, len(wanted), max(1, per_search)):
            chunk = wanted[start : start + per_search]
            query = (f"search {scope}{field_name} IN ({', '.join(_spl_quoted(v) for v in chunk)}) "
                     f"| dedup {field_name} | table {field_name}")
            for row in self.search(query, earliest_time="0"):
                value = row.get(field_name)
                found.update(value if isinstance(value, list) else [value] if value else [])
        return found & set(wanted)

    # ------------------------------------------------------------------ HEC transport
    def _require_hec_token(self) -> None:
        self._load()
        if not self._hec_token:
            raise SplunkHecError(f"Connection {self.splunk_conn_id!r} has no HEC token (extra 'hec_token')")

    def _hec_headers(self, compressed: bool) -> dict[str, str]:
        headers = {"Authorization": f"Splunk {self._hec_token}", "Content-Type": "application/json"}
        if compressed:
            headers["Content-Encoding"] = "gzip"
        if self.settings.ack:
            headers["X-Splunk-Request-Channel"] = self._channel
        return headers

    def _deliver(self, batch: _Batch, result: HecSendResult, checker: _Checker | None = None) -> None:
        """Send one batch, retrying transient failures from where Splunk stopped accepting.

        After a lost reply (``batch.unsure``) the next attempt first settles what the index holds.
        """
        retrying = Retrying(
            stop=stop_after_attempt(self.retry_attempts),
            # capped exponential backoff plus jitter, so that many workers do not retry in lockstep
            wait=wait_exponential(multiplier=self.backoff_initial, max=self.backoff_max)
            + wait_random(0, self.backoff_initial),
            retry=retry_if_exception_type(_Transient),
            before_sleep=lambda state: self._before_retry(state, result),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    if batch.unsure and checker is not None:
                        self._settle(batch, result, checker)
                    if batch.events:
                        self._post_batch(batch, result, checker is not None)
        except _Transient as exc:
            if batch.unsure and checker is not None:
                self._settle(batch, result, checker)  # the last reply was lost too: maybe all went in
                if not batch.events:
                    return
            raise SplunkHecError(
                f"Splunk HEC at {self.hec_url} did not accept {batch.span()} "
                f"after {self.retry_attempts} attempts: {exc.reason}",
                accepted=result.events, event_number=batch.first, status=exc.status, code=exc.code, text=exc.text,
            ) from None
        except _TooLarge as exc:
            if len(batch.events) == 1:
                raise SplunkHecError(
                    f"Splunk HEC at {self.hec_url} refused event {batch.first} as too large (HTTP 413): {exc.text}",
                    accepted=result.events, event_number=batch.first, status=413, text=exc.text,
                ) from None
            half = len(batch.events) // 2  # split and send both halves: each is retried on its own
            self._deliver(batch.part(0, half), result, checker)
            self._deliver(batch.part(half), result, checker)

    def _settle(self, batch: _Batch, result: HecSendResult, checker: _Checker) -> None:
        """Drop from ``batch`` what the index holds after a lost reply, asking until ``settle_delay`` ends.

        Splunk makes events searchable seconds after accepting them, so "not found yet" is only
        believed once the delay is over; if the index cannot be asked, nothing is resent.
        """
        assert batch.keys is not None
        reason, span = batch.unsure, batch.span()
        deadline = time.monotonic() + max(0.0, self.settle_delay)
        found = 0
        while True:
            try:
                present = set(checker(batch.keys, batch.indexes))
            except Exception as exc:  # noqa: BLE001 - any failure to ask means "unknown": resend nothing
                detail = str(exc) if isinstance(exc, SplunkError) else type(exc).__name__
                raise SplunkHecError(
                    f"Splunk HEC at {self.hec_url} may have indexed {span} ({reason}) and the index could "
                    f"not be asked which it holds: {detail}. Nothing was resent, so nothing is indexed twice; "
                    f"a rerun that skips indexed keys sends the rest.",
                    accepted=result.events, event_number=batch.first,
                ) from None
            gone = batch.discard(present)
            found += gone
            result.events += gone
            result.reconciled += gone
            remaining = deadline - time.monotonic()
            if not batch.events or remaining <= 0:
                break
            time.sleep(min(self.settle_poll_interval, remaining))
        batch.unsure = None
        self.log.warning(
            "Splunk HEC at %s: no answer for %s (%s); the index holds %d of them, %d to send again",
            self.hec_url, span, reason, found, len(batch.events),
        )

    def _before_retry(self, state: RetryCallState, result: HecSendResult) -> None:
        result.retries += 1
        reason = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        self.log.warning(
            "Splunk HEC at %s: %s; retry %d of %d in %.2f s",
            self.hec_url, getattr(reason, "reason", reason), state.attempt_number, self.retry_attempts - 1, delay,
        )

    def _post_batch(self, batch: _Batch, result: HecSendResult, dedupes: bool = False) -> None:
        """One POST of the batch; a failure that may have been indexed marks the batch ``unsure``."""
        body = b"".join(batch.events)
        compressed = len(body) >= self.gzip_min_bytes
        data = gzip.compress(body, compresslevel=5, mtime=0) if compressed else body
        result.requests += 1
        try:
            response = self.get_conn().post(
                f"{self.hec_url}/services/collector/event",
                data=data,
                headers=self._hec_headers(compressed),
                timeout=self.settings.timeout,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            if not _maybe_received(exc):
                raise _Transient(f"connection failed ({_first_line(exc)})") from None
            reason = f"no reply ({_first_line(exc)})"
            self._mark_unsure(batch, reason, dedupes)
            raise _Transient(reason) from None
        result.bytes_sent += len(data)
        reply = _json_reply(response)
        text, code = _hec_text(response, reply), reply.get("code")
        number = reply.get("invalid-event-number")
        status = response.status_code
        if status == 200:
            result.events += len(batch.events)
            result.batches += 1
            if "ackId" in reply:
                result.ack_ids.append(int(reply["ackId"]))
            batch.advance(len(batch.events))
            return
        if isinstance(number, int) and 0 <= number < len(batch.events):
            result.events += number  # Splunk indexed the events before the one it names
            batch.advance(number)
        else:
            number = None
        if status == 413:
            raise _TooLarge(text)
        if status in RETRYABLE_STATUS:
            reason = f"HTTP {status}{_code_part(code)}: {text}"
            # a 5xx that is not Splunk's own "busy" and names no stopping point says nothing of what was kept
            if status >= 500 and code not in BUSY_CODES and number is None:
                self._mark_unsure(batch, reason, dedupes)
            raise _Transient(reason, status, code, text)
        where = f"event {batch.first}" if number is not None else "the request"
        tail = ""
        if number is not None:
            tail = f" The {result.events} events before it were accepted; nothing after it was sent."
        raise SplunkHecError(
            f"Splunk HEC at {self.hec_url} refused {where} (HTTP {status}{_code_part(code)}): {text}.{tail}",
            accepted=result.events, event_number=batch.first if number is not None else None,
            status=status, code=code, text=text,
        )

    def _mark_unsure(self, batch: _Batch, reason: str, dedupes: bool) -> None:
        if dedupes:
            batch.unsure = reason
        else:
            self.log.warning(
                "Splunk HEC at %s: %s for %s; resending them whole, so they may be indexed twice "
                "(send with a dedupe_field to avoid it)", self.hec_url, reason, batch.span(),
            )

    def _wait_for_acks(self, result: HecSendResult) -> None:
        """Poll ``/services/collector/ack`` until every batch is indexed or ``ack_timeout`` passes."""
        pending = set(result.ack_ids)
        deadline = time.monotonic() + self.ack_timeout
        while True:
            try:
                response = self.get_conn().post(
                    f"{self.hec_url}/services/collector/ack",
                    params={"channel": self._channel},
                    data=json.dumps({"acks": sorted(pending)}, separators=(",", ":")),
                    headers=self._hec_headers(False),
                    timeout=self.settings.timeout,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                response = None
                self.log.warning("Splunk HEC ack poll at %s failed: %s", self.hec_url, _first_line(exc))
            if response is not None and response.status_code == 200:
                acks = _json_reply(response).get("acks") or {}
                pending -= {int(k) for k, done in acks.items() if done is True}
            elif response is not None and response.status_code not in RETRYABLE_STATUS:
                reply = _json_reply(response)
                raise SplunkHecError(
                    f"Splunk HEC at {self.hec_url} refused the ack poll (HTTP {response.status_code}"
                    f"{_code_part(reply.get('code'))}): {_hec_text(response, reply)}",
                    accepted=result.events, status=response.status_code, code=reply.get("code"),
                )
            result.acknowledged = len(result.ack_ids) - len(pending)
            if not pending:
                return
            if time.monotonic() >= deadline:
                raise SplunkHecError(
                    f"Splunk HEC at {self.hec_url} acknowledged {result.acknowledged} of {len(result.ack_ids)} batches "
                    f"within {self.ack_timeout:g} s; the others were received but are not confirmed as indexed",
                    accepted=result.events,
                )
            time.sleep(self.ack_poll_interval)

    def hec_health(self) -> dict[str, Any]:
        """``GET /services/collector/health``: Splunk's reply (code 17 means healthy)."""
        self._load()
        try:
            response = self.get_conn().get(f"{self.hec_url}/services/collector/health", timeout=self.settings.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise SplunkHecError(f"Splunk HEC at {self.hec_url} is unreachable: {_first_line(exc)}") from None
        reply = _json_reply(response)
        return {"status": response.status_code, "code": reply.get("code"), "text": _hec_text(response, reply)}

    # ------------------------------------------------------------------ management port
    def _mgmt_auth(self) -> dict[str, str]:
        self._load()
        if self._bearer:
            return {"Authorization": f"Bearer {self._bearer}"}
        if self._session_key is None:
            self._session_key = self._log_in()
        return {"Authorization": f"Splunk {self._session_key}"}

    def _log_in(self) -> str:
        if not (self._login and self._password):
            raise SplunkSearchError(
                f"Connection {self.splunk_conn_id!r} has neither a bearer token (extra 'token') "
                "nor login and password for searches"
            )
        form = {"username": self._login, "password": self._password, "output_mode": "json"}
        response = self._mgmt_send("POST", "/services/auth/login", data=form, auth={})
        key = _json_reply(response).get("sessionKey")
        if not key:
            raise SplunkSearchError(f"Splunk at {self.mgmt_url} answered the login without a session key")
        mask_secret(key)
        return str(key)

    def _mgmt_send(
        self, method: str, path: str, *, auth: dict[str, str] | None = None, stream: bool = False, **kwargs: Any
    ) -> requests.Response:
        """One management call; a 401 with a session key logs in again once; errors quote Splunk's message."""
        for attempt in (1, 2):
            headers = self._mgmt_auth() if auth is None else auth
            try:
                response = self.get_conn().request(
                    method,
                    f"{self.mgmt_url}{path}",
                    headers=headers,
                    stream=stream,
                    timeout=self.settings.timeout,
                    **kwargs,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise SplunkSearchError(
                    f"Splunk management port at {self.mgmt_url} is unreachable: {_first_line(exc)}"
                ) from None
            if response.status_code == 401 and auth is None and self._session_key and attempt == 1:
                response.close()
                self._session_key = None  # expired session: log in again
                continue
            if response.status_code >= 400:
                text = _mgmt_text(response)
                response.close()
                raise SplunkSearchError(
                    f"Splunk at {self.mgmt_url} refused {method} {path} (HTTP {response.status_code}): {text}",
                    status=response.status_code, text=text,
                )
            return response
        raise AssertionError("unreachable")

    def server_info(self) -> dict[str, Any]:
        """``GET /services/server/info``: version, serverName and the like (an authenticated call)."""
        response = self._mgmt_send("GET", "/services/server/info", params={"output_mode": "json"})
        entries = _json_reply(response).get("entry") or [{}]
        return dict(entries[0].get("content") or {})

    def search(
        self,
        query: str,
        earliest_time: float | int | str | datetime | None = None,
        latest_time: float | int | str | datetime | None = None,
        *,
        params: Mapping[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Run SPL over ``[earliest_time, latest_time)`` and yield each result as a dict, streaming.

        Values are strings (multivalue fields lists of strings), as Splunk returns them. A query that
        does not start with ``search`` or ``|`` gets ``search `` prefixed. Times may be epoch
        seconds, datetimes or Splunk time strings (``-24h``). Preview rows of transforming searches
        are skipped; only final results are yielded. The request starts on first iteration.
        """
        data: dict[str, Any] = {"search": normalize_spl(query), "output_mode": "json", **(params or {})}
        for name, value in (("earliest_time", earliest_time), ("latest_time", latest_time)):
            if value is not None:
                data[name] = _time_param(value)
        response = self._mgmt_send("POST", "/services/search/jobs/export", data=data, stream=True)
        count = 0
        with response:
            for line in response.iter_lines():
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError:
                    raise SplunkSearchError(f"Splunk at {self.mgmt_url} sent export output that is not JSON") from None
                for message in row.get("messages") or ():
                    if message.get("type") in {"FATAL", "ERROR"}:
                        raise SplunkSearchError(
                            f"Splunk search at {self.mgmt_url} failed: {message.get('text')}", text=message.get("text")
                        )
                if row.get("preview") or "result" not in row:
                    continue
                count += 1
                yield row["result"]
        self.log.debug("Splunk search at %s returned %d results", self.mgmt_url, count)

    # ------------------------------------------------------------------ Airflow UI
    def test_connection(self) -> tuple[bool, str]:
        """Check both sides: HEC health plus the token, and an authenticated management call."""
        try:
            self._load()
        except (ValueError, AirflowException) as exc:
            return False, f"Connection {self.splunk_conn_id!r} is not usable: {exc}"
        hec_ok, hec_message = self._check_hec()
        mgmt_ok, mgmt_message = self._check_management()
        if hec_ok and mgmt_ok:
            return True, f"{hec_message}; {mgmt_message}"
        failed = " and ".join(side for side, ok in (("HEC", hec_ok), ("management", mgmt_ok)) if not ok)
        return False, f"Splunk {failed} side failed. {hec_message}; {mgmt_message}"

    def _check_hec(self) -> tuple[bool, str]:
        try:
            health = self.hec_health()
        except SplunkHecError as exc:
            return False, f"HEC: {exc}"
        if health["status"] != 200 or health["code"] != HEALTHY_CODE:
            return False, f"HEC at {self.hec_url} is not healthy (HTTP {health['status']}): {health['text']}"
        if not self._hec_token:
            return False, f"HEC at {self.hec_url} is healthy, but the connection has no HEC token"
        # An empty body is refused with "No data" only after the token was accepted: nothing is indexed.
        try:
            response = self.get_conn().post(
                f"{self.hec_url}/services/collector/event",
                data=b"",
                headers=self._hec_headers(False),
                timeout=self.settings.timeout,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            return False, f"HEC at {self.hec_url} is unreachable: {_first_line(exc)}"
        reply = _json_reply(response)
        if reply.get("code") in {NO_DATA_CODE, 0}:
            return True, f"HEC at {self.hec_url} is healthy and accepts the token"
        status = f"HTTP {response.status_code}{_code_part(reply.get('code'))}"
        return False, f"HEC at {self.hec_url} refused the token ({status}): {_hec_text(response, reply)}"

    def _check_management(self) -> tuple[bool, str]:
        try:
            info = self.server_info()
        except SplunkError as exc:
            return False, f"management: {exc}"
        return True, f"management at {self.mgmt_url}: Splunk {info.get('version', '?')} ({info.get('serverName', '?')})"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Kept for Airflow < 3.2; newer versions read ``get_provider_info`` instead."""
        return field_behaviour(SPLUNK_CONNECTION_TYPE)

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The extra fields for Airflow < 3.2's form; newer versions read ``conn-fields`` instead."""
        return form_widgets(SPLUNK_CONNECTION_TYPE)


# --------------------------------------------------------------------------- helpers
def normalize_spl(query: str) -> str:
    """Splunk's REST API needs a leading command: prefix ``search `` unless it has one or starts with ``|``."""
    text = query.strip()
    if not text:
        raise ValueError("empty search query")
    if text.startswith("|") or re.match(r"search\b", text, re.IGNORECASE):
        return text
    return f"search {text}"


def epoch_seconds(value: float | int | str | datetime | date) -> float | int:
    """Epoch seconds with millisecond precision (HEC's ``time``); naive datetimes are taken as UTC."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a time")
    if isinstance(value, datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        number: float = stamp.timestamp()
    elif isinstance(value, date):
        number = datetime(value.year, value.month, value.day, tzinfo=timezone.utc).timestamp()
    elif isinstance(value, (int, float, Decimal)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return epoch_seconds(datetime.fromisoformat(value))
    else:
        raise TypeError(f"cannot read a time from {type(value).__name__}")
    if not math.isfinite(number):
        raise ValueError("time must be finite")
    rounded = round(number, 3)
    return int(rounded) if rounded == int(rounded) else rounded


def _time_param(value: float | int | str | datetime) -> str:
    if isinstance(value, str):
        return value
    return f"{float(epoch_seconds(value)):.3f}"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _encode_envelope(envelope: Mapping[str, Any], number: int) -> bytes:
    if "event" not in envelope:
        raise ValueError(f"envelope {number} has no 'event' (Splunk requires it)")
    if envelope.get("fields") is not None:
        _checked_fields(envelope["fields"], number)
    try:
        text = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False, default=_json_default, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"envelope {number} cannot be sent as JSON: {exc}") from None
    return text.encode()


def _checked_fields(fields: Mapping[str, Any], number: int | None = None) -> dict[str, Any]:
    """Indexed fields must be flat: strings (or numbers) or lists of them, as Splunk requires."""
    where = f" of envelope {number}" if number is not None else ""
    for key, value in fields.items():
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in values):
            raise ValueError(f"indexed field {key!r}{where} must be a string or a list of strings")
    return dict(fields)


#: ``checker(keys, indexes)``: which of ``keys`` the index holds (the batch's target indexes given as scope).
_Checker = Callable[[Sequence[str], frozenset[str]], Iterable[str]]


def _dedupe_key(envelope: Mapping[str, Any], field_name: str, number: int) -> str:
    """The envelope's key in the indexed field ``field_name``: one non-empty string, or a clear error."""
    value = (envelope.get("fields") or {}).get(field_name)
    if not isinstance(value, str) or not value:
        raise ValueError(
            f"envelope {number} has no indexed field {field_name!r} with a single non-empty string "
            "(the dedupe key a resend is checked against)"
        )
    return value


def _maybe_received(exc: requests.RequestException) -> bool:
    """Could Splunk have received the request? Only a failed connect (or TLS handshake) proves it did not."""
    if isinstance(exc, (requests.ConnectTimeout, requests.exceptions.SSLError)):
        return False
    if isinstance(exc, requests.Timeout):
        return True  # read timeout: the body went out, the answer is late
    cause = exc.args[0] if exc.args else None
    cause = getattr(cause, "reason", cause)  # urllib3's MaxRetryError wraps the cause
    return not isinstance(cause, NewConnectionError)


def _spl_quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _json_reply(response: requests.Response) -> dict[str, Any]:
    try:
        reply = response.json()
    except ValueError:
        return {}
    return reply if isinstance(reply, dict) else {}


def _hec_text(response: requests.Response, reply: Mapping[str, Any]) -> str:
    if reply.get("text"):
        return str(reply["text"])
    return (response.text or response.reason or "").strip()[:200] or f"HTTP {response.status_code}"


def _code_part(code: Any) -> str:
    return f", code {code}" if code is not None else ""


def _mgmt_text(response: requests.Response) -> str:
    """Splunk's messages, from ``{"messages":[{"type","text"}]}`` or ``<response><messages><msg>``."""
    body = response.content[:65536]
    try:
        messages = json.loads(body).get("messages") or []
        texts = [str(m.get("text")) for m in messages if m.get("text")]
    except (ValueError, AttributeError):
        try:
            texts = [m.text or "" for m in ElementTree.fromstring(body).iter("msg")]
        except ElementTree.ParseError:
            texts = [body.decode("utf-8", errors="replace").strip()[:200]]
    return "; ".join(t for t in texts if t) or response.reason or f"HTTP {response.status_code}"


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    reason = text.split("Caused by ", 1)[-1]
    return reason.split("\n", 1)[0].strip("()'\" ")[:200]


def _redact_url(url: str) -> str:
    """The URL without its password and without any query (which may hold tokens)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    user = f"{parts.username}:***@" if parts.username else ""
    return f"{parts.scheme}://{user}{netloc}{parts.path}" + ("?..." if parts.query else "")

