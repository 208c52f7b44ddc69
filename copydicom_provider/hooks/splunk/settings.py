"""The Splunk connection's non-secret extras, typed and defaulted in one place."""

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

