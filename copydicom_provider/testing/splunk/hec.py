"""The HTTP Event Collector port of the Splunk-compatible test server (not Splunk).

``POST /services/collector``, ``/services/collector/event``, ``/services/collector/event/1.0``
(concatenated JSON envelopes, optionally gzip), ``/services/collector/raw`` (one event per line),
``GET /services/collector/health[/1.0]``, ``POST /services/collector/ack``. Replies are Splunk's
``{"text": ..., "code": N}`` bodies with Splunk's status codes, batch errors carry
``invalid-event-number`` and keep the events before it; indexer acknowledgement per token counts
``ackId`` from 0 per channel and forgets an id once polled ``true``. The HEC fault switches act here.
"""

from __future__ import annotations

import json
import time
import uuid

from copydicom_provider.testing.splunk.auth import hec_credential
from copydicom_provider.testing.splunk.events import StoredEvent
from copydicom_provider.testing.splunk.hec_envelope import read_envelope
from copydicom_provider.testing.splunk.hec_status import HEC_STATUS, NOT_FOUND_TEXT, hec_body
from copydicom_provider.testing.splunk.http_base import RequestHandler
from copydicom_provider.testing.splunk.store import HecToken


class HecHandler(RequestHandler):
    role = "hec"

    def handle_request(
        self, path: str, query: dict[str, list[str]], body: bytes, encoding: str, gzip_error: bool
    ) -> None:
        path = path.rstrip("/")
        state = self.state
        with state.lock:
            if state.faults.drop_remaining > 0:
                state.faults.drop_remaining -= 1
                return self.drop_connection()
            pause = state.faults.hec_pause
        if pause:
            time.sleep(pause)
        if path in {"/services/collector/health", "/services/collector/health/1.0"}:
            if self.command not in {"GET", "HEAD"}:
                return self.reply_json(405, {"text": NOT_FOUND_TEXT, "code": 405})
            if "token" in query:
                return self.reply_json(400, hec_body(16))
            if self.headers.get("Authorization"):  # a token given to the health check is checked too
                token = state.tokens.get(hec_credential(self.headers) or "")
                if token is None:
                    return self.reply_json(400, hec_body(21))
                if token.disabled:
                    return self.reply_json(400, hec_body(22))
            with state.lock:
                busy = state.faults.busy_always
            return self.reply_json(503, hec_body(18)) if busy else self.reply_json(200, hec_body(17))
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
            return self.reply_json(404, {"text": NOT_FOUND_TEXT, "code": 404})
        if self.command != "POST":
            return self.reply_json(405, {"text": NOT_FOUND_TEXT, "code": 405})
        if "token" in query:  # query-string auth is off unless an admin enables it per token
            return self.reply_json(400, hec_body(16))
        with state.lock:
            proxy = state.faults.proxy_remaining > 0 and not state.faults.proxy_reply[2] and not path.endswith("/ack")
            if proxy:
                state.faults.proxy_remaining -= 1
        if proxy:  # a proxy in front of HEC answered by itself: nothing reached Splunk
            return self.reply(200, state.faults.proxy_reply[0], state.faults.proxy_reply[1])
        with state.lock:
            if state.faults.busy_always or state.faults.busy_remaining > 0:
                state.faults.busy_remaining = max(0, state.faults.busy_remaining - 1)
                return self.reply_json(503, hec_body(9))
        token = self._hec_auth()
        if token is None:
            return
        if encoding and encoding not in {"gzip", "identity"}:
            return self.reply(415, "<html><body>Unsupported Media Type</body></html>", "text/html")
        length = len(body)
        if length > state.max_content_length:
            text = f"Content-Length of {length} too large (maximum is {state.max_content_length})"
            return self.reply_json(413, {"text": text, "code": 413})
        if gzip_error:
            return self.reply_json(400, hec_body(6))
        channel = self._channel(query)
        is_ack, is_raw = path.endswith("/ack"), "/raw" in path
        if token.ack or is_raw or is_ack:
            if is_ack and not token.ack:
                return self.reply_json(400, hec_body(14))
            if channel is None:
                return self.reply_json(400, hec_body(10))
            if not _is_guid(channel):
                return self.reply_json(400, hec_body(11))
        handler(token, channel, query, body)

    def _hec_auth(self) -> HecToken | None:
        if not self.headers.get("Authorization"):
            self.reply_json(401, hec_body(2))
            return None
        credential = hec_credential(self.headers)
        if credential is None:
            self.reply_json(401, hec_body(3))
            return None
        token = self.state.tokens.get(credential)
        if token is None:
            self.reply_json(403, hec_body(4))
            return None
        if token.disabled:
            self.reply_json(403, hec_body(1))
            return None
        return token

    def _channel(self, query: dict[str, list[str]]) -> str | None:
        channels = query.get("channel")
        return self.headers.get("X-Splunk-Request-Channel") or (channels[0] if channels else None)

    def _success(self, token: HecToken, channel: str | None) -> None:
        """Answer a stored request, unless a fault switch says to drop the reply or send it late."""
        faults = self.state.faults
        with self.state.lock:
            ack_id = None
            if token.ack:
                assert channel is not None
                ack_id = self.state.next_ack.get(channel, 0)
                self.state.next_ack[channel] = ack_id + 1
                self.state.acks.setdefault(channel, {})[ack_id] = time.monotonic() + self.state.ack_delay
            drop = faults.drop_after_store_remaining > 0
            error = 0 if drop else faults.error_after_store_remaining
            proxied = not drop and not error and faults.proxy_remaining > 0 and faults.proxy_reply[2]
            late = 0.0
            if proxied:  # forwarded and stored, then the proxy put its own body in place of Splunk's
                faults.proxy_remaining -= 1
                body, content_type, _ = faults.proxy_reply
            if drop:
                faults.drop_after_store_remaining -= 1
            elif error:
                faults.error_after_store_remaining -= 1
                error = faults.error_after_store_status
            elif faults.late_remaining > 0:
                faults.late_remaining -= 1
                late = faults.late_delay
        if drop:
            return self.drop_connection()
        if proxied:
            return self.reply(200, body, content_type)
        if error == 500:
            return self.reply_json(500, hec_body(8))
        if error:
            phrase = {502: "Bad Gateway", 504: "Gateway Timeout"}[error]
            return self.reply(error, f"<html><body><h1>{error} {phrase}</h1></body></html>", "text/html")
        if late:
            time.sleep(late)  # bounded by answer_late(); the client has usually given up by now
            self.close_connection = True
        try:
            self.reply_json(200, hec_body(0) if ack_id is None else hec_body(0, ackId=ack_id))
        except OSError:  # the client closed the connection while we were late
            self.close_connection = True

    def _events(self, token: HecToken, channel: str | None, query: dict[str, list[str]], body: bytes) -> None:
        text = body.decode("utf-8", errors="replace")
        decoder = json.JSONDecoder()
        position, number = 0, 0
        accepted: list[StoredEvent] = []
        now, host = time.time(), "{}:{}".format(*self.address())
        while True:
            while position < len(text) and text[position].isspace():
                position += 1
            if position >= len(text):
                break
            try:
                envelope, position = decoder.raw_decode(text, position)
            except json.JSONDecodeError:
                return self._reject(6, number, accepted)
            error, stored = read_envelope(token, envelope, now, self.state.indexes, host)
            if error is None and number == self._busy_at():
                error = 9  # queue full mid-request: Splunk keeps what it took and names where it stopped
            if error is not None:
                return self._reject(error, number, accepted)
            if stored is not None:
                accepted.append(stored)
            number += 1
        if number == 0:
            return self.reply_json(400, hec_body(5))
        self.state.store(accepted)
        self._success(token, channel)

    def _busy_at(self) -> int | None:
        with self.state.lock:
            if self.state.faults.busy_after_remaining > 0:
                return self.state.faults.busy_after_events
        return None

    def _reject(self, code: int, number: int, accepted: list[StoredEvent]) -> None:
        """A bad object ends the batch: the events before it are indexed, like Splunk does."""
        self.state.store(accepted)
        if code == 9:
            with self.state.lock:
                self.state.faults.busy_after_remaining -= 1
        self.reply_json(HEC_STATUS[code][0], hec_body(code, **{"invalid-event-number": number}))

    def _raw(self, token: HecToken, channel: str | None, query: dict[str, list[str]], body: bytes) -> None:
        lines = [line for line in body.decode("utf-8", errors="replace").splitlines() if line.strip()]
        if not lines:
            return self.reply_json(400, hec_body(5))
        index = (query.get("index") or [token.default_index])[0]
        if index not in self.state.indexes or (token.indexes is not None and index not in token.indexes):
            return self.reply_json(400, hec_body(7))
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
            return self.reply_json(400, hec_body(6))
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
        self.reply_json(200, {"acks": answer})


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
