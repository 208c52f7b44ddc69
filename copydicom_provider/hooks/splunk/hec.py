"""The HTTP Event Collector side of :class:`~copydicom_provider.hooks.splunk.SplunkHook`.

Sending follows what Splunk's own forwarders and the OpenTelemetry/Vector HEC exporters do: many
envelopes per request (concatenated JSON objects), batches capped by count and bytes, gzip once a
body is large enough to pay for it, retries with capped exponential backoff and jitter (``tenacity``)
on 408/429/5xx and connection errors, and none on other 4xx, which are permanent and reported with
Splunk's own ``text``. Splunk has no uniqueness check at ingest, so a retry after a partial failure
resends only from ``invalid-event-number``: the events before it were indexed already. With ``ack``
on, "sent" means "indexed": the hook polls ``/services/collector/ack`` for every batch's ``ackId``.

Exactly once: a failure after the body went out (read timeout, connection dropped, a 5xx that is not
Splunk's own "busy" refusal, a 200 whose body is not Splunk's success reply, such as a proxy's login
page) leaves it unknown whether Splunk indexed the batch, and a plain resend
would index it twice. When the caller names a ``dedupe_field`` (an indexed field holding a unique key
per envelope), the hook then asks the index which keys of the batch it holds, polling for up to
``settle_delay`` seconds because Splunk makes events searchable a few seconds after accepting them,
and resends only the others. A batch whose reply was lost has no ``ackId``, so acks cannot settle it;
they still confirm every batch whose reply arrived.
"""

from __future__ import annotations

import gzip
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from copydicom_provider.hooks.splunk.batches import (
    HecSendResult,
    _Batch,
    _checked_fields,
    _Checker,
    _dedupe_key,
    _encode_envelope,
)
from copydicom_provider.hooks.splunk.errors import SplunkError, SplunkHecError, _TooLarge, _Transient
from copydicom_provider.hooks.splunk.wire import (
    BUSY_CODES,
    RETRYABLE_STATUS,
    _code_part,
    _first_line,
    _hec_text,
    _json_reply,
    _maybe_received,
    epoch_seconds,
    hec_success,
)

if TYPE_CHECKING:
    from copydicom_provider.hooks.splunk.settings import SplunkSettings


class HecMixin:
    """Envelopes, batched sends with retries, lost-reply reconciliation, acks and health (needs the hook's state)."""

    settings: SplunkSettings
    hec_url: str
    splunk_conn_id: str
    max_batch_events: int
    max_batch_bytes: int
    gzip_min_bytes: int
    retry_attempts: int
    backoff_initial: float
    backoff_max: float
    ack_timeout: float
    ack_poll_interval: float
    settle_delay: float
    settle_poll_interval: float
    _hec_token: str | None
    _channel: str

    if TYPE_CHECKING:  # provided by SplunkHook and SearchMixin
        log: logging.Logger

        def _load(self) -> None: ...
        def get_conn(self) -> requests.Session: ...
        def indexed_values(self, field_name: str, values: Sequence[str], *,
                           indexes: Iterable[str] | None = None, per_search: int = 200) -> set[str]: ...

    # ------------------------------------------------------------------ envelopes
    def envelope(
        self,
        event: Any,
        *,
        time: float | int | str | datetime | None = None,
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
        asks with a ``tstats`` on the indexed field (:meth:`indexed_values`; needs search credentials).
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
                unreachable=exc.status is None or exc.status in RETRYABLE_STATUS,
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
        try:
            present = self.held_within(batch.keys, lambda keys: checker(keys, batch.indexes))
        except Exception as exc:
            detail = str(exc) if isinstance(exc, SplunkError) else type(exc).__name__
            raise SplunkHecError(
                f"Splunk HEC at {self.hec_url} may have indexed {span} ({reason}) and the index could "
                f"not be asked which it holds: {detail}. Nothing was resent, so nothing is indexed twice; "
                f"a rerun that skips indexed keys sends the rest.",
                accepted=result.events, event_number=batch.first, unreachable=getattr(exc, "unreachable", True),
            ) from None
        found = batch.discard(present)
        result.events += found
        result.reconciled += found
        batch.unsure = None
        self.log.warning(
            "Splunk HEC at %s: no answer for %s (%s); the index holds %d of them, %d to send again",
            self.hec_url, span, reason, found, len(batch.events),
        )

    def held_within(self, keys: Sequence[str], held: Callable[[Sequence[str]], Iterable[str]],
                    delay: float | None = None) -> set[str]:
        """Which of ``keys`` the index holds, asking ``held`` until all are found or ``delay`` passes.

        Why the wait: Splunk makes events searchable seconds after accepting them, so "not found
        yet" is only believed once ``delay`` (default ``settle_delay``) is over. Each poll asks only
        for the keys still missing. Whatever ``held`` raises (an unsearchable or partial index) is raised.
        """
        deadline = time.monotonic() + max(0.0, self.settle_delay if delay is None else delay)
        missing = list(dict.fromkeys(keys))
        found: set[str] = set()
        while missing:
            found.update(set(held(missing)) & set(missing))
            missing = [key for key in missing if key not in found]
            remaining = deadline - time.monotonic()
            if not missing or remaining <= 0:
                break
            time.sleep(min(self.settle_poll_interval, remaining))
        return found

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
        if status == 200 and not hec_success(reply):  # a proxy's page, or a body Splunk never sends
            content_type = response.headers.get("Content-Type") or "no content type"
            reason = f"HTTP 200 that is not Splunk's success reply ({content_type}: {_hec_text(response, reply)[:80]!r})"
            self._mark_unsure(batch, reason, dedupes)
            raise _Transient(reason, status, code if isinstance(code, int) else None, text)
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
                    accepted=result.events, unreachable=True,
                )
            time.sleep(self.ack_poll_interval)

    def hec_health(self) -> dict[str, Any]:
        """``GET /services/collector/health``: Splunk's reply (code 17 means healthy).

        The connection's HEC token goes along, so Splunk also checks it (codes 21 and 22: invalid or
        disabled token); the token is never in the query string, where Splunk refuses it (code 16).
        """
        self._load()
        headers = {"Authorization": f"Splunk {self._hec_token}"} if self._hec_token else {}
        try:
            response = self.get_conn().get(
                f"{self.hec_url}/services/collector/health", headers=headers, timeout=self.settings.timeout
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise SplunkHecError(f"Splunk HEC at {self.hec_url} is unreachable: {_first_line(exc)}",
                                 unreachable=True) from None
        reply = _json_reply(response)
        return {"status": response.status_code, "code": reply.get("code"), "text": _hec_text(response, reply)}
