"""What a Splunk hook is told, typed and defaulted in one place: the connection's extras and the hook's tuning.

``settle_delay`` is resolved here and only here: the hook's argument when given, else the
connection's extra, else 10 seconds. The clients read it from the settings they are handed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from copydicom_provider.conversions import as_bool, as_number


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
    def from_extra(cls, extra: Mapping[str, Any], *, settle_delay: float | None = None) -> SplunkSettings:
        """The extras typed; ``settle_delay``, when given (the hook's argument), wins over the extra."""
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
            settle_delay=as_number(extra.get("settle_delay"), 10.0) if settle_delay is None else settle_delay,
        )


@dataclass(frozen=True)
class HecOptions:
    """How the HEC client batches, retries and polls: the hook's keyword arguments, not the connection's.

    ``max_batch_events`` / ``max_batch_bytes`` cap one request (uncompressed bytes; Splunk Cloud
    refuses bodies over 1 MB); bodies of ``gzip_min_bytes`` or more are gzipped; ``retry_attempts``
    requests per batch with capped exponential backoff between them; acks are polled every
    ``ack_poll_interval`` for up to ``ack_timeout``; the index every ``settle_poll_interval``.
    """

    max_batch_events: int = 1000
    max_batch_bytes: int = 900_000
    gzip_min_bytes: int = 64 * 1024
    retry_attempts: int = 6
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    ack_timeout: float = 300.0
    ack_poll_interval: float = 0.5
    settle_poll_interval: float = 1.0

    def __post_init__(self) -> None:
        if self.max_batch_events < 1 or self.max_batch_bytes < 1 or self.retry_attempts < 1:
            raise ValueError("max_batch_events, max_batch_bytes and retry_attempts must be at least 1")

