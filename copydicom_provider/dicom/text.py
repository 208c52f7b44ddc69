"""DICOM values as the records write them: text, and dates and times as ISO 8601.

Why one module: the instance record, the dose report's header and its content items all write
values, and a search must find one value written one way wherever it came from.
"""

from __future__ import annotations

import re
from typing import Any

from pydicom.multival import MultiValue
from pydicom.tag import Tag

__all__ = ["iso_date", "iso_datetime", "iso_time", "value_text"]

_DT = re.compile(r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,6})?([+-]\d{4})?")


def value_text(value: Any, vr: str = "") -> str:
    """A value as text: several joined by ``\\``, an AT as ``gggg,eeee``, bytes as ASCII, None as ''."""
    if value is None:
        return ""
    if isinstance(value, (list, MultiValue)):
        return "\\".join(value_text(v, vr) for v in value)
    if vr == "AT":
        tag = Tag(value)
        return f"{tag.group:04x},{tag.element:04x}"
    if isinstance(value, bytes):
        return value.decode("ascii", errors="replace")
    return str(value)


def iso_datetime(raw: str) -> str | None:
    """DICOM DT (``20240314093000.5+0100``, any precision) -> ISO 8601; None if unreadable."""
    match = _DT.fullmatch(raw.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    text = year + "".join(f"-{p}" for p in (month, day) if p)
    if hour:
        if not day:
            return None
        text += f"T{hour}" + "".join(f":{p}" for p in (minute, second) if p)
        if fraction:
            text += fraction
    if offset:
        text += f"{offset[:3]}:{offset[3:]}"
    return text


def iso_date(raw: str) -> str | None:
    """DICOM DA (``20240314``) -> ``2024-03-14``; None if unreadable."""
    match = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", raw.strip())
    return "-".join(match.groups()) if match else None


def iso_time(raw: str) -> str | None:
    """DICOM TM (``093000.5``, or the old ``09:30:00``) -> ``09:30:00.5``; None if unreadable."""
    match = re.fullmatch(r"(\d{2})(\d{2})?(\d{2})?(\.\d{1,6})?", raw.strip()) or \
        re.fullmatch(r"(\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?", raw.strip())
    if not match:
        return None
    hour, minute, second, fraction = match.groups()
    return hour + "".join(f":{p}" for p in (minute, second) if p) + (fraction or "")
