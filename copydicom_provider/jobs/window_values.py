"""The values a window is made of, parsed without Airflow: times (UTC) and days.

Why a module of its own: the CLI's option parser reads ``--since`` and ``--study-date`` with these, and
``copydicom --help`` or a mistyped option must answer without importing Airflow (which
:mod:`~copydicom_provider.jobs.candidates` does, through the Orthanc hook). Only the standard library here.
"""

from __future__ import annotations

from datetime import date, datetime, timezone


def to_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC, as Airflow's data intervals are."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def parse_moment(value: datetime | str | None) -> datetime | None:
    """A datetime from a datetime, an ISO 8601 string (as Airflow templates render), or nothing."""
    if value is None or value == "" or value == "None":
        return None
    if isinstance(value, datetime):
        return to_utc(value)
    return to_utc(datetime.fromisoformat(str(value).strip().replace("Z", "+00:00")))


def parse_day(value: date | str | None) -> date | None:
    """A date from a date, ``2024-03-01`` or DICOM's ``20240301``."""
    if value is None or value == "" or value == "None":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    return datetime.strptime(text, "%Y%m%d").date() if len(text) == 8 and text.isdigit() else date.fromisoformat(text)
