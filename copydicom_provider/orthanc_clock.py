"""An Orthanc's clock against this worker's, from one ``GET /tools/now``.

Why: Orthanc dates its change log and each instance's ``ReceptionDate`` by its own clock (UTC, to
the second), which need not agree with the worker's or with another Orthanc's. A received window
(``jobs.source_clock``) and the planner's comparison of reception dates (``copy.loose``) both
measure the offset instead of assuming none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from copydicom_provider.hooks.orthanc import OrthancHook

SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class ClockOffset:
    """How far an Orthanc's clock is ahead of the worker's (negative: behind), within ``(low, high)``."""

    low: timedelta
    high: timedelta

    @property
    def agrees(self) -> bool:
        """Whether the clocks may agree: no shift is needed."""
        return self.low <= timedelta(0) <= self.high

    def describe(self) -> str:
        middle = (self.low + self.high) / 2
        side = "ahead of" if middle > timedelta(0) else "behind"
        return f"{abs(middle.total_seconds()):.0f} s {side}"


def parse_orthanc_time(text: str) -> datetime:
    """``20261201T231324`` (Orthanc's UTC timestamps) as an aware datetime."""
    return datetime.strptime(text, "%Y%m%dT%H%M%S").replace(tzinfo=timezone.utc)


def measure_offset(server: OrthancHook) -> ClockOffset | None:
    """The server's clock against this worker's, from one ``GET /tools/now``; None if it has no clock to read."""
    before = datetime.now(timezone.utc)
    reading = server.now()
    after = datetime.now(timezone.utc)
    if reading is None:
        return None
    moment = parse_orthanc_time(reading)
    return ClockOffset(low=moment - after, high=moment + SECOND - before)


def offset_between(first: ClockOffset, second: ClockOffset) -> ClockOffset:
    """How far ``second``'s clock is ahead of ``first``'s, both measured against this worker."""
    return ClockOffset(low=second.low - first.high, high=second.high - first.low)
