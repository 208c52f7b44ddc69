"""Received windows on the source's own clock, so that a worker whose clock differs never empties a window.

Orthanc dates its change log by its own clock (UTC, to the second); an Airflow data interval, a
``since``/``until`` and a job's first-run start are on the worker's clock. Before a run reads a
window, the source is asked the time once (``GET /tools/now``). Its answer, truncated to the second,
bounds the offset between the two clocks: ``reading - after < offset < reading + 1 - before``. The
window's start moves by the lower bound and its end by the upper one, to whole seconds, so two
adjacent windows still meet however each measurement falls: they overlap by a second or two, and
what lies in both is checked twice and copied once. When the bounds admit no offset at all (the
clocks agree to within the measurement), the window stays exactly as given.

This assumes the offset when the run reads the window is the offset when the instances arrived.
A window over arrivals from before a step of the source's clock is moved by the new offset, not
the old one; scheduled runs of the DAGs do not depend on dates at all (they follow the cursor).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from copydicom_provider.hooks.orthanc import OrthancHook

log = logging.getLogger("copydicom_provider")
SECOND = timedelta(seconds=1)
#: Below this a measured offset is not worth a warning (it is still applied if zero is ruled out).
WARN_OFFSET = timedelta(seconds=2)


@dataclass(frozen=True)
class ClockOffset:
    """How far the source's clock is ahead of the worker's (negative: behind), within ``(low, high)``."""

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


def measure_offset(source: OrthancHook) -> ClockOffset | None:
    """The source's clock against this worker's, from one ``GET /tools/now``; None if it has no clock to read."""
    before = datetime.now(timezone.utc)
    reading = source.now()
    after = datetime.now(timezone.utc)
    if reading is None:
        return None
    moment = parse_orthanc_time(reading)
    return ClockOffset(low=moment - after, high=moment + SECOND - before)


def on_source_clock(
    source: OrthancHook, start: datetime | None, end: datetime | None
) -> tuple[datetime | None, datetime | None]:
    """``[start, end)`` (UTC, worker's clock) as the source's change log dates the same moments."""
    if start is None and end is None:
        return start, end
    offset = measure_offset(source)
    if offset is None or offset.agrees:
        return start, end
    if max(abs(offset.low), abs(offset.high)) >= WARN_OFFSET:
        log.warning("the source Orthanc's clock is %s this worker's: the received window is read on the "
                    "source's clock", offset.describe())
    return (
        floor_second(start + offset.low) if start else None,
        ceil_second(end + offset.high) if end else None,
    )


def floor_second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def ceil_second(moment: datetime) -> datetime:
    return floor_second(moment) + (SECOND if moment.microsecond else timedelta(0))
