"""A HEC event envelope read the way Splunk's HTTP Event Collector reads it, in the Splunk-compatible test
server (not Splunk): what it requires, the index the token allows, ``time`` and indexed ``fields``."""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from typing import Any

from copydicom_provider.testing.splunk.events import StoredEvent, splunk_str
from copydicom_provider.testing.splunk.store import HecToken


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


def read_envelope(
    token: HecToken, envelope: Any, now: float, indexes: Collection[str], default_host: str
) -> tuple[int | None, StoredEvent | None]:
    """One HEC envelope as the event to store, or the HEC status code that refuses it (one at a time)."""
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
    if not isinstance(index, str) or index not in indexes or (
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
        host=str(envelope.get("host") or default_host),
        source=str(envelope.get("source") or "http:test"),
        sourcetype=sourcetype,
        raw=raw,
        indextime=int(now),
        serial=0,
        indexed=fields,
    )
