"""An instance's tags -> one flat record in Orthanc's "simplified" style (pure Python, no Airflow).

keyword -> string (multi-values joined with ``\\``, person names as ``Family^Given``, dates as
DICOM writes them), sequences as lists of such dicts, tags without a keyword under ``"gggg,eeee"``.
Binary VRs (OB, OW, OF, OD, OL, OV, UN) and pixel data are left out, and so is an SR's content
tree (``ContentItemsOmitted`` counts its top-level items; the dose content is in the dose records,
:mod:`.dose`). Values are never truncated here (Orthanc's simplified tags give ``null`` past 256
characters); the size cap is applied per record by :mod:`.size`.
"""

from __future__ import annotations

import functools
from typing import Any

from pydicom.datadict import dictionary_has_tag, dictionary_keyword
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from copydicom_provider.dicom.text import value_text
from copydicom_provider.dicom.values import BINARY_VRS, UNREAD, dataset_element

__all__ = ["instance_record"]

_PIXEL_DATA = Tag(0x7FE0, 0x0010)
_CONTENT_SEQUENCE = Tag(0x0040, 0xA730)


def instance_record(ds: Dataset, *, content_tree: bool = False) -> dict[str, Any]:
    """All non-binary tags of ``ds`` in Orthanc's simplified style (full length, never null).

    An SR's content tree (its top-level ``ContentSequence``) is left out unless ``content_tree``:
    a long report's tree runs to megabytes, more than Splunk accepts in one event. Its dose content
    is in the dose records; ``ContentItemsOmitted`` says how many top-level items the file holds.
    Each element is read by :func:`~copydicom_provider.dicom.values.dataset_element` (lean where it can be).
    """
    out: dict[str, Any] = {}
    unreadable: list[str] = []
    encoding = ds.original_character_set
    for tag, raw in list(ds.items()):
        try:
            _add(out, ds, int(tag), raw, encoding, content_tree)  # a pydicom tag compares through Python code
        except Exception as exc:  # noqa: PERF203 -- one unreadable tag is named and skipped, the rest still read
            unreadable.append(f"{Tag(tag).group:04x},{Tag(tag).element:04x}: unreadable "
                              f"({type(exc).__name__}); skipped")
    if unreadable:
        out["ParseWarnings"] = " | ".join(unreadable[:20])
    return out


def _add(out: dict[str, Any], ds: Dataset, tag: int, raw: Any, encoding: Any, content_tree: bool) -> None:
    """Put one element into ``out``, or leave it out (binary, pixel data, the content tree)."""
    elem = dataset_element(ds, tag, raw, encoding)
    if isinstance(elem, str):
        out[_record_key(out, tag)] = elem
        return
    if elem is UNREAD or elem.tag == _PIXEL_DATA or elem.VR in BINARY_VRS:
        return
    if elem.tag == _CONTENT_SEQUENCE and not content_tree:
        out["ContentItemsOmitted"] = len(elem.value or [])
        return
    key = _record_key(out, int(elem.tag))
    if elem.VR == "SQ":
        out[key] = [instance_record(item, content_tree=True) for item in elem.value]
    else:
        out[key] = value_text(elem.value, elem.VR)


def _record_key(out: dict[str, Any], tag: int) -> str:
    """The keyword, else ``gggg,eeee`` (also for a repeating group's second keyword, e.g. 60xx overlays)."""
    key = _keyword(tag)
    return key if key and key not in out else f"{tag >> 16:04x},{tag & 0xFFFF:04x}"


@functools.lru_cache(maxsize=4096)
def _keyword(tag: int) -> str:
    """``DataElement.keyword``, looked up once per tag: '' for private, unknown and repeating-group tags."""
    return dictionary_keyword(tag) if dictionary_has_tag(tag) else ""
