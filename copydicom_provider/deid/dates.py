"""Dates moved back by a patient's shift, in DA/DT values and inside kept free text.

Why so careful: any valid value must be shiftable or replaceable without failing the instance.
``00010101`` (what .NET writes for its minimum date) cannot move back; ``2024`` (a partial DT) and
``20240101-20240131`` (a range) have no single day to move; a DT may carry a time and an offset
after its date. What can be shifted is shifted, keeping everything after the date as it was; the
rest becomes a dummy date, and the caller reports it.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

DUMMY_DATE = "19000101"
#: A DA or DT value: its first eight digits are the day, the rest (time, fraction, offset) is kept.
VALUE = re.compile(r"^(\d{4})[.-]?(\d{2})[.-]?(\d{2})(\d{0,6}(?:\.\d{1,6})?(?:[+-]\d{4})?)$")
#: Dates written in free text. ISO-like ones (year first) are shifted in their own format; the
#: others (day/month order unknowable, month names) are removed.
ISO_IN_TEXT = re.compile(r"(?<!\d)(\d{4})([-./]?)(\d{2})\2(\d{2})(?!\d)")
OTHER_IN_TEXT = re.compile(
    r"(?<!\d)\d{1,2}[-./]\d{1,2}[-./]\d{2,4}(?!\d)"
    r"|(?i:\b\d{1,2}(?:st|nd|rd|th)?[ -]?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?[ -]?\d{2,4}\b)"
    r"|(?i:\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}(?:st|nd|rd|th)?,? \d{2,4}\b)"
)
REMOVED_DATE = "[date]"


def shift_value(value: str, shift: timedelta) -> str | None:
    """A DA or DT value moved back by ``shift``, or None when it cannot be (partial, range, out of range)."""
    text = value.strip()
    if not text:
        return ""
    match = VALUE.match(text)
    if not match:
        return None
    day = _day(match.group(1), match.group(2), match.group(3))
    if day is None:
        return None
    try:
        moved = day - shift
    except OverflowError:
        return None
    return _format(moved) + match.group(4)


def shift_in_text(text: str, shift: timedelta | None) -> str:
    """Free text with each date in it moved back (year-first forms) or replaced by ``[date]``.

    Without a shift (dates not retained) every date in it is replaced.
    """

    def iso(match: re.Match[str]) -> str:
        day = _day(match.group(1), match.group(3), match.group(4))
        if day is None:
            return match.group(0)  # eight digits that are no date (an ID, a number): the hunt decides
        if shift is None:
            return REMOVED_DATE
        try:
            moved = day - shift
        except OverflowError:
            return REMOVED_DATE
        return _format(moved, match.group(2))

    return OTHER_IN_TEXT.sub(REMOVED_DATE, ISO_IN_TEXT.sub(iso, text))


def _day(year: str, month: str, day: str) -> date | None:
    try:
        moved = date(int(year), int(month), int(day))
    except ValueError:
        return None
    return moved if moved.year >= 1 else None


def _format(day: date, separator: str = "") -> str:
    return f"{day.year:04d}{separator}{day.month:02d}{separator}{day.day:02d}"
