"""Parsing of the CLI's option values, with errors that show the expected format and an example.

Why a module of its own: argparse reports a failing ``type=`` function by its Python name
(``invalid parse_moment value``); these raise :class:`argparse.ArgumentTypeError` with a message
meant for the person typing the command.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from datetime import date, datetime

from copydicom_provider.jobs.window_values import parse_day, parse_moment
from copydicom_provider.reports.period import time_zone

DAY = r"\d{8}|\d{4}-\d{2}-\d{2}"
DAY_RANGE = re.compile(rf"^(?P<first>{DAY})?(?:(?P<dash>-)(?P<last>{DAY})?)?$")
#: Options whose value may start with '-' (Splunk's relative times such as -30d).
DASH_VALUES = ("--earliest", "--latest")


def moment(text: str) -> datetime:
    """``--since``/``--until``: an ISO 8601 time; UTC when it has no offset."""
    try:
        value = parse_moment(text)
    except ValueError:
        value = None
    if value is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time: use e.g. 2026-11-01T00:00:00Z, 2026-11-01T08:00:00+01:00 "
            "or 2026-11-01 (UTC when no offset is given)"
        )
    return value


def study_moment(text: str) -> datetime:
    """``dose-report --since``/``--until``: a study date/time as the scanners wrote it (kept without a zone),
    or a moment with an offset (read in ``--time-zone`` by reports.period.wall_clock)."""
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 date or time: use e.g. 2026-04-01, 2026-04-01T08:00 "
            "or 2026-04-01T08:00:00-05:00") from None


def zone_name(text: str) -> str:
    """``--time-zone``: an IANA time zone name."""
    try:
        return time_zone(text).key
    except ValueError as mistake:
        raise argparse.ArgumentTypeError(str(mistake)) from None


def study_date_range(text: str) -> tuple[date | None, date | None]:
    """``--study-date``: one day or a range, DICOM (``20200101-20201231``) or ISO (``2020-01-01-2020-12-31``)."""
    match = DAY_RANGE.match(text.strip())
    try:
        if not match or not (match["first"] or match["last"]):
            raise ValueError(text)
        first, last = parse_day(match["first"]), parse_day(match["last"])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a study date range: use FIRST-LAST with days as YYYYMMDD or YYYY-MM-DD, e.g. "
            "20200101-20201231, 2020-01-01-2020-12-31, 20200101- (from), -20201231 (until) or 20200101 (one day)"
        ) from None
    if not match["dash"]:
        return first, first
    if first and last and last < first:
        raise argparse.ArgumentTypeError(f"{text!r}: the last day is before the first")
    return first, last


def positive_number(text: str) -> float:
    """``--timeout``: seconds, more than 0."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0, e.g. 60 or 7.5")
    return value


def positive_integer(text: str) -> int:
    """``--max-parallel``: a whole number of requests, at least 1."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1, e.g. 4")
    return int(text)


def join_dash_values(argv: Sequence[str]) -> list[str]:
    """``--earliest -30d`` as ``--earliest=-30d``: argparse would take ``-30d`` for an option."""
    args = list(argv)
    joined: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        following = args[index + 1] if index + 1 < len(args) else ""
        if arg in DASH_VALUES and re.match(r"^-\d", following):
            joined.append(f"{arg}={following}")
            index += 2
            continue
        joined.append(arg)
        index += 1
    return joined
