"""The one place that decides how an element's value is read: straight from the raw bytes, or by pydicom.

Why: a record reads every element of an image and ~700 of a dose SR's content tree, and each
``ds.get(keyword)`` costs pydicom 20-30 µs of bookkeeping (keyword lookup, conversion, storing the
converted element back, validation). Most values are short printable ASCII or a few binary
numbers, whose conversion is a decode, a strip and a split. :func:`lean_value` does exactly that
and gives :data:`NOT_LEAN` for everything else -- empty numbers, non-ASCII values, escape
sequences, implicit VRs, sequences, AT, a DS or IS that is not a plain number, a PN with component
groups, LUT Descriptors, pydicom options or hooks that change values -- which the caller then reads
the usual pydicom way. It never guesses: ``tests/unit/dicom/test_values_pydicom.py`` holds it against pydicom's
own conversion.

The rest of the package reads values only through :func:`read_value` (one value, e.g. of a content
item) and :func:`dataset_element` (every element of a data set, for the instance record); both take
the lean reading where it answers and pydicom's otherwise. ``lean=False`` is pydicom's alone, the
reference the lean reading is tested against.

Values are what the records use: ``str`` for text VRs (a DS or IS as its text, as ``str()`` of
pydicom's value gives it), ``int``/``float`` for binary numbers, a ``list`` for several values.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from typing import Any

from pydicom import config
from pydicom import hooks as pydicom_hooks
from pydicom.dataelem import DataElement, RawDataElement, convert_raw_data_element
from pydicom.dataset import Dataset

__all__ = ["BINARY_VRS", "NOT_LEAN", "UNREAD", "dataset_element", "lean_text", "lean_value", "read_value"]

#: Returned where the value must be read the usual pydicom way.
NOT_LEAN: Any = object()

_PRINTABLE_ASCII = re.compile(rb"[\x20-\x7e]*")
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER_FORMATS = {"US": "H", "UL": "L", "SS": "h", "SL": "l", "FL": "f", "FD": "d", "SV": "q", "UV": "Q"}
#: How pydicom turns each text VR's decoded string into values (see ``pydicom.values``).
_STRIP_WHOLE = frozenset({"AS", "CS", "DA", "DT", "TM"})  # trailing padding, then split
_STRIP_EACH = frozenset({"SH", "LO", "UC"})  # split, then each value's trailing padding
_SINGLE = frozenset({"LT", "ST", "UT", "UR"})  # one value, trailing padding
_NUMERIC_TEXT = {"DS": _DECIMAL, "IS": _INTEGER}
#: Text VRs whose trailing NULs pydicom drops along with trailing spaces (not AE, UR: NUL is kept there).
_NULL_PADDED = _STRIP_WHOLE | _STRIP_EACH | _SINGLE - {"UR"} | {"UI", "PN", "DS", "IS"}
_TEXT_VRS = _STRIP_WHOLE | _STRIP_EACH | _SINGLE | {"AE", "UI", "PN", "DS", "IS"}


#: LUT Descriptors: pydicom reads a negative first value as unsigned (``pydicom.tag._LUT_DESCRIPTOR_TAGS``).
_LUT_DESCRIPTORS = frozenset({0x00281101, 0x00281102, 0x00281103, 0x00283002})


def _options_are_default() -> bool:
    """pydicom as shipped: no option or conversion hook that changes what a value reads as (date
    objects, Decimal, numpy, strict reads, a replaced ``raw_element_value``/``raw_element_vr``)."""
    return not (config.datetime_conversion or config.use_DS_decimal or config.use_DS_numpy
                or config.use_IS_numpy or config.settings.reading_validation_mode == config.RAISE
                or pydicom_hooks.hooks.raw_element_value is not pydicom_hooks.raw_element_value
                or pydicom_hooks.hooks.raw_element_vr is not pydicom_hooks.raw_element_vr)


def lean_value(raw: Any) -> Any:
    """The value of ``raw`` as the records read it, or :data:`NOT_LEAN`."""
    if not isinstance(raw, RawDataElement):
        return NOT_LEAN
    vr, value = raw.VR, raw.value
    if not vr or not isinstance(value, bytes) or raw.tag in _LUT_DESCRIPTORS or not _options_are_default():
        return NOT_LEAN
    number_format = _NUMBER_FORMATS.get(vr)
    if number_format is not None:
        return _numbers(value, number_format, raw.is_little_endian) if value else NOT_LEAN
    if vr in _NULL_PADDED:
        value = value.rstrip(b"\x00 ")  # pydicom drops trailing NULs and spaces (UIDs come NUL-padded)
    if not value:
        return "" if vr in _TEXT_VRS else NOT_LEAN
    if not _PRINTABLE_ASCII.fullmatch(value):
        return NOT_LEAN  # other bytes depend on the character set: pydicom decides
    return _text(value.decode("ascii"), vr)


def _numbers(value: bytes, number_format: str, little_endian: bool) -> Any:
    size = struct.calcsize("<" + number_format)  # standard sizes, as in the file
    if len(value) % size:
        return NOT_LEAN
    numbers = struct.unpack(f"{'<' if little_endian else '>'}{len(value) // size}{number_format}", value)
    return numbers[0] if len(numbers) == 1 else list(numbers)


def _text(text: str, vr: str) -> Any:
    if vr in _STRIP_WHOLE:
        values = text.rstrip(" ").split("\\")
    elif vr in _STRIP_EACH:
        values = [v.rstrip(" ") for v in text.split("\\")]
    elif vr in _SINGLE:
        return text.rstrip(" ")
    elif vr in ("AE", "UI"):  # pydicom's UID strips each value, AE's padding is not significant
        values = [v.strip(" ") for v in text.split("\\")]
    elif vr == "PN" and "=" not in text:
        values = text.rstrip(" ").split("\\")
    elif vr in _NUMERIC_TEXT:
        values = [v.strip(" ") for v in text.strip(" ").split("\\")]
        if not all(_NUMERIC_TEXT[vr].fullmatch(v) for v in values):
            return NOT_LEAN  # pydicom's error or its own reading of an odd number
    else:
        return NOT_LEAN
    return values[0] if len(values) == 1 else values


def lean_text(raw: Any) -> str | None:
    """The value as the instance record writes it (several values joined by ``\\``), or None."""
    value = lean_value(raw)
    if value is NOT_LEAN:
        return None
    return "\\".join(map(str, value)) if isinstance(value, list) else str(value)


def read_value(raw: Any, full: Callable[[], Any], *, lean: bool = True) -> Any:
    """The value of ``raw``: the lean reading where it answers (and ``lean``), else ``full()`` (pydicom's)."""
    value = lean_value(raw) if lean else NOT_LEAN
    return full() if value is NOT_LEAN else value


#: VRs whose values the records leave out (bytes, not text).
BINARY_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN", "OB or OW", "US or OW", "US or SS or OW"})
#: What :func:`dataset_element` gives for a binary element, left out unread.
UNREAD: Any = object()
#: Explicit VRs that ``Dataset.__getitem__`` would convert no differently from a bare conversion.
_LEAN_VRS = frozenset({"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "PN", "SH", "SL",
                       "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UR", "US", "UT", "UV"})
_CHARSET_TAG = 0x00080005


def dataset_element(ds: Dataset, tag: int, raw: Any, encoding: Any) -> str | DataElement | Any:
    """One element of ``ds`` (``encoding``: its ``original_character_set``): its text, the element, or :data:`UNREAD`.

    Why not ``ds[tag]`` for every tag: that converts the element *and* stores it back in the data
    set (tag compares, ``__setitem__``, private-block bookkeeping), most of an instance record's
    time on a plain image. A raw value that is plain ASCII text or binary numbers is read by
    :func:`lean_text`; another raw element is converted with pydicom's own
    :func:`convert_raw_data_element` and the result is not kept; binary elements are not converted
    at all. Sequences, ambiguous or implicit VRs (pydicom corrects them against the data set),
    the character set element and deferred values still go through ``ds[tag]``.
    """
    text = lean_text(raw) if tag != _CHARSET_TAG else None
    if text is not None:
        return text
    if encoding and isinstance(raw, RawDataElement) and tag != _CHARSET_TAG \
            and (raw.value is not None or raw.length == 0):
        if raw.VR in BINARY_VRS and raw.VR != "UN":  # UN may become a known VR on conversion
            return UNREAD
        if raw.VR in _LEAN_VRS:
            return convert_raw_data_element(raw, encoding=encoding)
    return ds[tag]
