"""The fault switches of the Splunk-compatible test server (not Splunk): the failures a test asks it to play.

Each switch counts down the requests (or searches) it still applies to; the HEC and search handlers
read and consume them under the server's lock. :class:`~copydicom_provider.testing.splunk.SplunkTestServer`
offers them under the same names.
"""

from __future__ import annotations

import threading

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


class FaultSwitches:
    """The switches' state: how many requests each still applies to, and with what."""

    def __init__(self, lock: threading.RLock) -> None:
        self.lock = lock
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

    def busy(self, count: int) -> None:
        """Answer the next ``count`` HEC event requests with 503 "Server is busy"."""
        with self.lock:
            self.busy_remaining = count

    def busy_after(self, accepted: int, count: int = 1) -> None:
        """On the next ``count`` event requests, index the first ``accepted`` envelopes, then answer
        503 "Server is busy" with ``invalid-event-number`` = ``accepted``."""
        with self.lock:
            self.busy_after_events, self.busy_after_remaining = accepted, count

    def busy_forever(self) -> None:
        with self.lock:
            self.busy_always = True

    def drop(self, count: int) -> None:
        """Close the connection, without any reply, on the next ``count`` HEC requests."""
        with self.lock:
            self.drop_remaining = count

    def answer_late(self, count: int, delay: float) -> None:
        """Store the events of the next ``count`` HEC requests, then answer only after ``delay`` seconds
        (at most 30), i.e. after a client's read timeout: the client cannot know they were indexed."""
        if not 0 < delay <= 30:
            raise ValueError("delay must be in (0, 30] seconds")
        with self.lock:
            self.late_remaining, self.late_delay = count, delay

    def drop_after_store(self, count: int) -> None:
        """Store the events of the next ``count`` HEC requests, then close the connection without a reply."""
        with self.lock:
            self.drop_after_store_remaining = count

    def error_after_store(self, count: int, status: int = 500) -> None:
        """Store the events of the next ``count`` HEC requests, then answer ``status``: 500 with Splunk's
        "Internal server error" (code 8), or 502/504 as a load balancer's HTML page would."""
        if status not in {500, 502, 504}:
            raise ValueError("status must be 500, 502 or 504")
        with self.lock:
            self.error_after_store_remaining, self.error_after_store_status = count, status

    def proxy_answers(self, count: int, body: str, content_type: str = "text/html", *, store: bool = False) -> None:
        """A proxy in front of HEC answers the next ``count`` event requests with 200 and ``body`` itself.

        By default it forwards nothing (a login or error page, a loose imitation such as
        ``{"code":0}``); with ``store`` it forwards the request to HEC (the events are stored) and
        puts its own body in place of Splunk's reply.
        """
        with self.lock:
            self.proxy_remaining, self.proxy_reply = count, (body, content_type, store)

    def partial_peers(self, count: int, peer: str = PEERS[-1], text: str | None = None) -> None:
        """Take search peer ``peer`` down for the next ``count`` searches: they answer without the
        events it holds and with a WARN message, ``text`` or Splunk's "Unable to distribute to peer"."""
        if peer not in PEERS:
            raise ValueError(f"peer must be one of {PEERS}")
        with self.lock:
            self.partial_remaining, self.partial_peer, self.partial_text = count, peer, text or ""

    def searches_refused(self, count: int) -> None:
        """Refuse the next ``count`` new searches (export or job) with Splunk's 503: too many searches at once."""
        with self.lock:
            self.search_refused_remaining = count

    def slow_hec(self, seconds: float) -> None:
        """Every HEC request from now on is handled ``seconds`` late (0: at once): a slow, healthy index."""
        if not 0 <= seconds <= 5:
            raise ValueError("seconds must be in [0, 5]")
        with self.lock:
            self.hec_pause = seconds

    def reset(self) -> None:
        with self.lock:
            self.busy_remaining = self.drop_remaining = self.busy_after_remaining = 0
            self.late_remaining = self.drop_after_store_remaining = 0
            self.error_after_store_remaining = self.proxy_remaining = self.partial_remaining = 0
            self.search_refused_remaining = 0
            self.busy_always = False
