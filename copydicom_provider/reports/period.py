"""Which quarter a report covers: the run's data interval, a ``2025-Q3`` override, or the last complete one.

Why wall clocks: DICOM study times carry no zone, and the records keep each study's own clock (read
as UTC, records.instance.event_time), so a quarter is the scanners' calendar quarter. A period is
therefore kept as wall-clock times stamped UTC: a moment with a zone (an Airflow data interval, now)
is first read on the clock of the report's time zone, so that a run scheduled at midnight in
America/Chicago covers Chicago's quarter, not the one that ended in Greenwich six hours before.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_QUARTER = re.compile(r"^\s*(\d{4})-?Q([1-4])\s*$", re.IGNORECASE)


def quarter_bounds(label: str) -> tuple[datetime, datetime]:
    """``2025-Q3`` -> [2025-07-01, 2025-10-01) in UTC."""
    match = _QUARTER.match(label or "")
    if not match:
        raise ValueError(f"quarter {label!r} is not of the form YYYY-Qn (e.g. 2025-Q3)")
    year, quarter = int(match.group(1)), int(match.group(2))
    start = datetime(year, 3 * quarter - 2, 1, tzinfo=timezone.utc)
    end = datetime(year + 1, 1, 1, tzinfo=timezone.utc) if quarter == 4 else \
        datetime(year, 3 * quarter + 1, 1, tzinfo=timezone.utc)
    return start, end


def quarter_of(moment: datetime) -> str:
    return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"


def previous_quarter(now: datetime) -> str:
    """The last quarter that has ended by ``now``."""
    start, _ = quarter_bounds(quarter_of(now))
    return quarter_of(start - timedelta(days=1))


def time_zone(name: str | None) -> ZoneInfo:
    """The IANA zone ``name`` (``UTC`` when empty); a ValueError naming it when the zone is unknown."""
    text = (name or "UTC").strip()
    try:
        return ZoneInfo("UTC" if text.lower() == "utc" else text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"time zone {name!r} is not an IANA time zone name (e.g. America/Chicago, "
                         "Europe/London, UTC)") from None


def wall_clock(moment: datetime, zone: str | None) -> datetime:
    """``moment`` as the clock in ``zone`` reads it, stamped UTC as the records stamp study times;
    a moment without a zone is a wall-clock time already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(time_zone(zone)).replace(tzinfo=timezone.utc)


def resolve_period(quarter: str | None, start: datetime | None, end: datetime | None,
                   now: datetime | None = None, zone: str | None = None) -> tuple[str, datetime, datetime]:
    """(label, start, end) on the scanners' clock: the override if given, else the data interval read in
    ``zone``, else the last quarter complete in ``zone``.

    A data interval that is not a calendar quarter (a custom schedule) is labelled by its dates.
    """
    if quarter:
        return (quarter_of(quarter_bounds(quarter)[0]), *quarter_bounds(quarter))
    if start is not None and end is not None and wall_clock(end, zone) > wall_clock(start, zone):
        start, end = wall_clock(start, zone), wall_clock(end, zone)
        label = quarter_of(start)
        if (start, end) != quarter_bounds(label):
            label = f"{start:%Y-%m-%dT%H%M}_{end:%Y-%m-%dT%H%M}"
        return label, start, end
    label = previous_quarter(wall_clock(now or datetime.now(timezone.utc), zone))
    return (label, *quarter_bounds(label))
