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
from datetime import datetime, timedelta

from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.orthanc_clock import SECOND, measure_offset

log = logging.getLogger("copydicom_provider")
#: Below this a measured offset is not worth a warning (it is still applied if zero is ruled out).
WARN_OFFSET = timedelta(seconds=2)


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
