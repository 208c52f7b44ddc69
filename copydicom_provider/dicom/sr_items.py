"""A structured report's content items, read by keyword; the one place that decides how a sequence is read.

Why: flattening a dose report reads ~700 values out of ~230 nested items. pydicom's
``item.get(keyword)`` spends 20-30 µs on each, and making a ``Dataset`` of each item costs as much
again: together most of a dose SR's 20-40 ms. A :class:`ContentItem` answers ``get``/``in`` from
the item's raw elements. A plain sequence (explicit VR little endian, items of known length, the
usual encoding) is cut into items here, each item's elements read by pydicom's own element reader;
any other sequence is parsed by pydicom. Every other value is read by :func:`.values.read_value`,
which steps aside for pydicom where the lean reading does not answer (non-ASCII text, odd numbers,
...), so an unreadable value raises exactly what pydicom raises. With ``lean=False`` everything is
pydicom's: the reference the lean reading is tested against.
"""

from __future__ import annotations

import functools
import io
import struct
from typing import Any

from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.filereader import data_element_generator
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag

from copydicom_provider.dicom.values import read_value

__all__ = ["ContentItem"]


@functools.lru_cache(maxsize=512)
def _tag(keyword: str) -> int:
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise KeyError(f"{keyword!r} is not a DICOM keyword")
    return int(tag)


_ITEM_HEADER = struct.Struct("<HHL")
_ITEM = (0xFFFE, 0xE000)
_CHARSET = 0x00080005
_UNDEFINED = 0xFFFFFFFF


def _plain_items(element: Any, encoding: Any) -> list[dict[int, Any]] | None:
    """The items of a plain sequence as ``{tag: raw element}``; None where pydicom must parse it.

    Plain: explicit VR little endian, every item of defined length and in explicit VR, none with a
    character set of its own. pydicom would read such an item with the same element reader
    (``read_dataset``), then build a ``Dataset`` around it.
    """
    if not (isinstance(element, RawDataElement) and element.VR == "SQ" and not element.is_implicit_VR
            and element.is_little_endian and isinstance(element.value, bytes)):
        return None
    value, position, items = element.value, 0, []
    try:
        while position < len(value):
            group, number, length = _ITEM_HEADER.unpack_from(value, position)
            body = value[position + 8 : position + 8 + length]
            if (group, number) != _ITEM or length == _UNDEFINED or len(body) != length:
                return None
            if len(body) >= 6 and not (0x40 < body[4] < 0x5B and 0x40 < body[5] < 0x5B):
                return None  # an item in implicit VR: pydicom's reading decides
            elements = {int(e.tag): e for e in data_element_generator(io.BytesIO(body), False, True,
                                                                        encoding=encoding)}
            if _CHARSET in elements or any(_cut_short(e) for e in elements.values()):
                return None  # pydicom would read on past the item's end: let it
            items.append(elements)
            position += 8 + length
    except Exception:
        return None
    return items


def _cut_short(element: Any) -> bool:
    """A value shorter than its declared length (the item ended inside it)."""
    return (isinstance(element, RawDataElement) and isinstance(element.value, bytes)
            and element.length != _UNDEFINED and len(element.value) != element.length)


class ContentItem:
    """Read-only view of one data set by keyword; a sequence reads as a list of ``ContentItem``."""

    __slots__ = ("_dataset", "_elements", "_encoding", "_lean", "_values")

    def __init__(self, dataset: Dataset | None, *, lean: bool = True,
                 elements: dict[int, Any] | None = None, encoding: Any = None) -> None:
        """From a pydicom data set, or (``dataset=None``) from the raw ``elements`` of a plain item."""
        self._dataset = dataset
        # plain int keys: a pydicom tag compares through Python code, a dict lookup by int does not
        if elements is None:
            if dataset is None:
                raise ValueError("a content item needs a data set or its elements")
            elements = {int(t): e for t, e in dataset.items()}
        self._elements = elements
        self._encoding = encoding if dataset is None else dataset.original_character_set
        self._values: dict[int, Any] = {}
        self._lean = lean

    def _pydicom(self) -> Dataset:
        """The item as pydicom's ``read_dataset`` would have made it (for values read the usual way)."""
        if self._dataset is None:
            self._dataset = Dataset({BaseTag(t): e for t, e in self._elements.items()},
                                    parent_encoding=self._encoding)
            self._dataset.set_original_encoding(False, True, self._encoding)
        return self._dataset

    def get(self, keyword: str, default: Any = None) -> Any:
        """The element's value (``Dataset.get`` semantics), ``default`` when the item lacks it."""
        tag = _tag(keyword)
        if tag in self._values:
            return self._values[tag]
        element = self._elements.get(tag)
        if element is None:
            return default
        items = _plain_items(element, self._encoding) if self._lean else None
        if items is not None:
            value: Any = [ContentItem(None, elements=item, encoding=self._encoding) for item in items]
        else:
            value = read_value(element, lambda: self._read_by_pydicom(keyword, default), lean=self._lean)
        self._values[tag] = value
        return value

    def _read_by_pydicom(self, keyword: str, default: Any) -> Any:
        """pydicom's reading of one value, and its errors; a sequence's items as content items."""
        value = self._pydicom().get(keyword, default)
        if isinstance(value, Sequence):
            return [ContentItem(item, lean=self._lean) for item in value]
        return value

    def __contains__(self, keyword: str) -> bool:
        return _tag(keyword) in self._elements
