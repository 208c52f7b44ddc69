"""The HTTP Event Collector client: send envelopes in batches, settle lost replies, wait for acks, check health.

:class:`HecClient` needs no Airflow: a session, the HEC URL and token, the settings and the options.
:class:`~copydicom_provider.hooks.splunk.SplunkHook` builds one from its connection and delegates to it.

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
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

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
    Batch,
    Checker,
    HecSendResult,
    checked_fields,
    dedupe_key,
    encode_envelope,
)
from copydicom_provider.hooks.splunk.errors import SplunkError, SplunkHecError, _TooLarge, _Transient
from copydicom_provider.hooks.splunk.polling import held_within, wait_for_acks
from copydicom_provider.hooks.splunk.settings import HecOptions, SplunkSettings
from copydicom_provider.hooks.splunk.wire import (
    BUSY_CODES,
    RETRYABLE_STATUS,
    Log,
    code_part,
    epoch_seconds,
    first_line,
    hec_success,
    hec_text,
    json_reply,
    maybe_received,
)

#: ``lookup(field, keys, indexes=...)``: which keys an indexed field holds (the search client's ``indexed_values``)
IndexLookup = Callable[..., set[str]]


class HecClient:
    """Envelopes, batched sends with retries, lost-reply reconciliation, acks and health for one HEC endpoint.

    :param session: gives the pooled session to send with (called per request: the owner may reopen it).
    :param lookup: the default ``held`` check of :meth:`send_envelopes` (a search client's ``indexed_values``).
    :param name: the connection's ID, for messages.
    """

    def __init__(self, session: Callable[[], requests.Session], url: str, token: str | None,
                 settings: SplunkSettings, options: HecOptions | None = None, *, lookup: IndexLookup | None = None,
                 name: str = "splunk", log: Log | None = None) -> None:
        self._session = session
        self.url = url
        self._token = token
        self.settings = settings
        self.options = options or HecOptions()
        self._lookup = lookup
        self.name = name
        self.log: Log = log or logging.getLogger(__name__)
        self._channel = str(uuid.uuid4())

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
            envelope["fields"] = checked_fields(fields)
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
        asks with a ``tstats`` on the indexed field (``lookup``, the search client's ``indexed_values``).
        Without ``dedupe_field`` a batch whose reply was lost is resent whole and may be indexed
        twice (a warning says so).
        """
        self._require_token()
        result = HecSendResult()
        checker: Checker | None = None
        if dedupe_field is not None and held is not None:
            checker = lambda keys, _indexes: held(keys)  # noqa: E731 - the caller's check knows its scope
        elif dedupe_field is not None:
            lookup = self._lookup
            if lookup is None:
                raise SplunkHecError(f"Connection {self.name!r}: a dedupe_field needs a held check or search access")
            checker = lambda keys, indexes: lookup(dedupe_field, keys, indexes=indexes)  # noqa: E731
        batch: list[bytes] = []
        keys: list[str] = []
        indexes: set[str] = set()
        size = number = 0

        def flush() -> None:
            numbers = list(range(number - len(batch), number))
            target = Batch(batch, numbers, keys if dedupe_field else None, frozenset(indexes))
            self._deliver(target, result, checker)

        for envelope in envelopes:
            encoded = encode_envelope(envelope, number)
            full = len(batch) >= self.options.max_batch_events
            if batch and (full or size + len(encoded) > self.options.max_batch_bytes):
                flush()
                batch, keys, indexes, size = [], [], set(), 0
            if dedupe_field is not None:
                keys.append(dedupe_key(envelope, dedupe_field, number))
                index = envelope.get("index") or self.settings.index
                if index:
                    indexes.add(str(index))
            batch.append(encoded)
            size += len(encoded)
            number += 1
        if batch:
            flush()
        if self.settings.ack and result.ack_ids:
            wait_for_acks(result, self._post_acks, url=self.url, timeout=self.options.ack_timeout,
                          interval=self.options.ack_poll_interval, log=self.log)
        self.log.info(
            "Sent %d events to Splunk HEC at %s in %d batches (%d requests, %d retries%s)",
            result.events, self.url, result.batches, result.requests, result.retries,
            f", {result.reconciled} found indexed after a lost reply" if result.reconciled else "",
        )
        return result

    # ------------------------------------------------------------------ HEC transport
    def _require_token(self) -> None:
        if not self._token:
            raise SplunkHecError(f"Connection {self.name!r} has no HEC token (extra 'hec_token')")

    def headers(self, compressed: bool) -> dict[str, str]:
        """Every HEC request's headers: the token, the body's encoding and, with acks, the channel."""
        headers = {"Authorization": f"Splunk {self._token}", "Content-Type": "application/json"}
        if compressed:
            headers["Content-Encoding"] = "gzip"
        if self.settings.ack:
            headers["X-Splunk-Request-Channel"] = self._channel
        return headers

    def _deliver(self, batch: Batch, result: HecSendResult, checker: Checker | None = None) -> None:
        """Send one batch, retrying transient failures from where Splunk stopped accepting.

        After a lost reply (``batch.unsure``) the next attempt first settles what the index holds.
        """
        retrying = Retrying(
            stop=stop_after_attempt(self.options.retry_attempts),
            # capped exponential backoff plus jitter, so that many workers do not retry in lockstep
            wait=wait_exponential(multiplier=self.options.backoff_initial, max=self.options.backoff_max)
            + wait_random(0, self.options.backoff_initial),
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
                f"Splunk HEC at {self.url} did not accept {batch.span()} "
                f"after {self.options.retry_attempts} attempts: {exc.reason}",
                accepted=result.events, event_number=batch.first, status=exc.status, code=exc.code, text=exc.text,
                unreachable=exc.status is None or exc.status in RETRYABLE_STATUS,
            ) from None
        except _TooLarge as exc:
            if len(batch.events) == 1:
                raise SplunkHecError(
                    f"Splunk HEC at {self.url} refused event {batch.first} as too large (HTTP 413): {exc.text}",
                    accepted=result.events, event_number=batch.first, status=413, text=exc.text,
                ) from None
            half = len(batch.events) // 2  # split and send both halves: each is retried on its own
            self._deliver(batch.part(0, half), result, checker)
            self._deliver(batch.part(half), result, checker)

    def _settle(self, batch: Batch, result: HecSendResult, checker: Checker) -> None:
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
                f"Splunk HEC at {self.url} may have indexed {span} ({reason}) and the index could "
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
            self.url, span, reason, found, len(batch.events),
        )

    def held_within(self, keys: Sequence[str], held: Callable[[Sequence[str]], Iterable[str]],
                    delay: float | None = None) -> set[str]:
        """Which of ``keys`` the index holds, asking ``held`` until all are found or ``delay`` passes.

        ``delay`` defaults to the settings' ``settle_delay`` (see :func:`.polling.held_within`).
        """
        return held_within(keys, held, delay=self.settings.settle_delay if delay is None else delay,
                           poll_interval=self.options.settle_poll_interval)

    def _before_retry(self, state: RetryCallState, result: HecSendResult) -> None:
        result.retries += 1
        reason = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        self.log.warning(
            "Splunk HEC at %s: %s; retry %d of %d in %.2f s",
            self.url, getattr(reason, "reason", reason), state.attempt_number, self.options.retry_attempts - 1, delay,
        )

    def _post_batch(self, batch: Batch, result: HecSendResult, dedupes: bool = False) -> None:
        """One POST of the batch; a failure that may have been indexed marks the batch ``unsure``."""
        body = b"".join(batch.events)
        compressed = len(body) >= self.options.gzip_min_bytes
        data = gzip.compress(body, compresslevel=5, mtime=0) if compressed else body
        result.requests += 1
        try:
            response = self._session().post(
                f"{self.url}/services/collector/event",
                data=data,
                headers=self.headers(compressed),
                timeout=self.settings.timeout,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            if not maybe_received(exc):
                raise _Transient(f"connection failed ({first_line(exc)})") from None
            reason = f"no reply ({first_line(exc)})"
            self._mark_unsure(batch, reason, dedupes)
            raise _Transient(reason) from None
        result.bytes_sent += len(data)
        reply = json_reply(response)
        text, code = hec_text(response, reply), reply.get("code")
        number = reply.get("invalid-event-number")
        status = response.status_code
        if status == 200 and not hec_success(reply):  # a proxy's page, or a body Splunk never sends
            content_type = response.headers.get("Content-Type") or "no content type"
            reason = f"HTTP 200 that is not Splunk's success reply ({content_type}: {text[:80]!r})"
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
            reason = f"HTTP {status}{code_part(code)}: {text}"
            # a 5xx that is not Splunk's own "busy" and names no stopping point says nothing of what was kept
            if status >= 500 and code not in BUSY_CODES and number is None:
                self._mark_unsure(batch, reason, dedupes)
            raise _Transient(reason, status, code, text)
        where = f"event {batch.first}" if number is not None else "the request"
        tail = ""
        if number is not None:
            tail = f" The {result.events} events before it were accepted; nothing after it was sent."
        raise SplunkHecError(
            f"Splunk HEC at {self.url} refused {where} (HTTP {status}{code_part(code)}): {text}.{tail}",
            accepted=result.events, event_number=batch.first if number is not None else None,
            status=status, code=code, text=text,
        )

    def _mark_unsure(self, batch: Batch, reason: str, dedupes: bool) -> None:
        if dedupes:
            batch.unsure = reason
        else:
            self.log.warning(
                "Splunk HEC at %s: %s for %s; resending them whole, so they may be indexed twice "
                "(send with a dedupe_field to avoid it)", self.url, reason, batch.span(),
            )

    def _post_acks(self, body: str) -> requests.Response:
        return self._session().post(f"{self.url}/services/collector/ack", params={"channel": self._channel},
                                    data=body, headers=self.headers(False), timeout=self.settings.timeout)

    def health(self) -> dict[str, Any]:
        """``GET /services/collector/health``: Splunk's reply (code 17 means healthy).

        The connection's HEC token goes along, so Splunk also checks it (codes 21 and 22: invalid or
        disabled token); the token is never in the query string, where Splunk refuses it (code 16).
        """
        headers = {"Authorization": f"Splunk {self._token}"} if self._token else {}
        try:
            response = self._session().get(
                f"{self.url}/services/collector/health", headers=headers, timeout=self.settings.timeout
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise SplunkHecError(f"Splunk HEC at {self.url} is unreachable: {first_line(exc)}",
                                 unreachable=True) from None
        reply = json_reply(response)
        return {"status": response.status_code, "code": reply.get("code"), "text": hec_text(response, reply)}
