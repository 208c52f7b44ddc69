"""Which quarter a report covers: the run's data interval, a ``2025-Q3`` override, or the last complete one."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

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


def resolve_period(quarter: str | None, start: datetime | None, end: datetime | None,
                   now: datetime | None = None) -> tuple[str, datetime, datetime]:
    """(label, start, end): the override if given, else the data interval, else the last complete quarter.

    A data interval that is not a calendar quarter (a custom schedule) is labelled by its dates.
    """
    if quarter:
        return (quarter_of(quarter_bounds(quarter)[0]), *quarter_bounds(quarter))
    if start is not None and end is not None and end > start:
        start, end = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
        label = quarter_of(start)
        if (start, end) != quarter_bounds(label):
            label = f"{start:%Y-%m-%dT%H%M}_{end:%Y-%m-%dT%H%M}"
        return label, start, end
    label = previous_quarter(now or datetime.now(timezone.utc))
    return (label, *quarter_bounds(label))
