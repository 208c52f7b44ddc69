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
#: A DA or DT value: its first eight digits are the day, the rest (time, fraction, offset) is kept. The old
#: ACR-NEMA separators (``2024.01.31``) come in pairs, so that a range such as ``202401-202412`` is no day.
VALUE = re.compile(r"^(\d{4})([.-]?)(\d{2})\2(\d{2})(\d{0,6}(?:\.\d{1,6})?(?:[+-](\d{2})(\d{2}))?)$")
#: Dates written in free text. Year-first ones are shifted in their own format: separated
#: (2024-03-12, 2024/3/12, 2024.03.12) or compact, perhaps with a time after (20240312, 20240312094107);
#: the others (day/month order unknowable, month names) are removed.
SEPARATED_IN_TEXT = re.compile(r"(?<!\d)(\d{4})([-./])(\d{1,2})\2(\d{1,2})(?!\d)")
COMPACT_IN_TEXT = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(\d{2,6}(?:\.\d{1,6})?)?(?!\d)")
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
OTHER_IN_TEXT = re.compile(
    r"(?<!\d)\d{1,2}[-./]\d{1,2}[-./]\d{2,4}(?!\d)"
    rf"|(?i:\b\d{{1,2}}(?:st|nd|rd|th)?[ -]?{_MONTH},?[ -]?\d{{2,4}}\b)"
    rf"|(?i:\b{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?,? \d{{2,4}}\b)"
    rf"|(?i:\b\d{{4}}[-./ ]?{_MONTH}[-./ ]?\d{{1,2}}\b)"
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
    day = _day(match.group(1), match.group(3), match.group(4))
    if day is None or not _plausible_offset(match.group(6), match.group(7)):
        return None  # ``20240101-2024`` is a range to a year, not a day at UTC-20:24
    try:
        moved = day - shift
    except OverflowError:
        return None
    return _format(moved) + match.group(5)


def _plausible_offset(hours: str | None, minutes: str | None) -> bool:
    """A DT's UTC offset runs from -1200 to +1400 (PS3.5 6.2); anything else after a day is part of a range."""
    return hours is None or (int(hours) <= 14 and int(minutes or 0) < 60)


def shift_in_text(text: str, shift: timedelta | None) -> str:
    """Free text with each date in it moved back (year-first forms) or replaced by ``[date]``.

    Without a shift (dates not retained) every date in it is replaced.
    """

    def moved(match: re.Match[str], month: int, day: int, rest: str, separator: str) -> str:
        found = _day(match.group(1), match.group(month), match.group(day))
        if found is None:
            return match.group(0)  # digits that are no date (an ID, a number): the hunt decides
        if shift is None:
            return REMOVED_DATE
        try:
            new = found - shift
        except OverflowError:
            return REMOVED_DATE
        width = 2 if separator == "" or len(match.group(month)) == 2 else 1
        return f"{new.year:04d}{separator}{new.month:0{width}d}{separator}{new.day:0{width}d}" + rest

    text = SEPARATED_IN_TEXT.sub(lambda m: moved(m, 3, 4, "", m.group(2)), text)
    text = COMPACT_IN_TEXT.sub(lambda m: moved(m, 2, 3, m.group(4) or "", ""), text)
    return OTHER_IN_TEXT.sub(REMOVED_DATE, text)


def _day(year: str, month: str, day: str) -> date | None:
    try:
        moved = date(int(year), int(month), int(day))
    except ValueError:
        return None
    return moved if moved.year >= 1 else None


def _format(day: date, separator: str = "") -> str:
    return f"{day.year:04d}{separator}{day.month:02d}{separator}{day.day:02d}"
