"""SPL time modifiers as the Splunk-compatible test server (not Splunk) reads them.

Search Reference, "Time modifiers": epoch, ISO 8601, ``%m/%d/%Y:%H:%M:%S``, ``now`` and relative
times (``-24h``, ``-1d@d``). An ``earliest=``/``latest=`` in the search overrides the REST
``earliest_time``/``latest_time``; ``latest`` defaults to now.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, timezone

from copydicom_provider.testing.splunk.spl_errors import SearchError

_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}
_RELATIVE = re.compile(r"^(?:(?P<sign>[+-])(?P<num>\d*)(?P<unit>[a-z]+))?(?:@(?P<snap>[a-z]+))?$")


def parse_time_modifier(value: str | None, now: float) -> float | None:
    """Epoch, ISO 8601, ``%m/%d/%Y:%H:%M:%S``, ``now``, or relative (``-24h``, ``-1d@d``); None if empty."""
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    if text == "now":
        return now
    try:
        return float(text)
    except ValueError:
        pass
    for parse in (lambda t: datetime.fromisoformat(t), lambda t: datetime.strptime(t, "%m/%d/%Y:%H:%M:%S")):
        try:
            stamp = parse(text)
        except ValueError:
            continue
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=timezone.utc)
        return stamp.timestamp()
    match = _RELATIVE.match(text)
    if not match or not (match["unit"] or match["snap"]):
        raise ValueError(text)
    result = now
    if match["unit"]:
        if match["unit"] not in _UNITS:
            raise ValueError(text)
        amount = int(match["num"] or 1) * _UNITS[match["unit"]]
        result += amount if match["sign"] == "+" else -amount
    if match["snap"]:
        snap = _UNITS.get(match["snap"])
        if snap is None or snap > 86400:
            raise ValueError(text)
        result = math.floor(result / snap) * snap
    return result


def time_bounds(
    search_earliest: float | None, search_latest: float | None, rest: Mapping[str, str | None], now: float
) -> tuple[float | None, float]:
    """``[earliest, latest)``: in-search terms replace the REST range as a whole; latest defaults to now."""
    if search_earliest is not None or search_latest is not None:
        return search_earliest, now if search_latest is None else search_latest
    bounds = {name: request_time(rest, name, now) for name in ("earliest_time", "latest_time")}
    latest = bounds["latest_time"]
    return bounds["earliest_time"], now if latest is None else latest


def request_time(params: Mapping[str, str | None], name: str, now: float) -> float | None:
    """The time modifier a request carries under ``name``; refused as Splunk refuses it, naming the parameter."""
    try:
        return parse_time_modifier(params.get(name), now)
    except ValueError:
        raise SearchError(f"Invalid {name}.") from None

