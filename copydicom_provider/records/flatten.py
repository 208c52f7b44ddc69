"""One DICOM instance -> flat key/value records for the index (pure Python, no Airflow).

Why flat: nested SR output forced the original tool's dashboards into ``spath``/``mvexpand`` and
broke when a report had one acquisition instead of several. Here every record is one flat dict.

``instance_record(ds)``
    The instance's tags in Orthanc's "simplified" style: keyword -> string (multi-values joined
    with ``\\``, person names as ``Family^Given``, dates as DICOM writes them), sequences as lists
    of such dicts, tags without a keyword under ``"gggg,eeee"``. Binary VRs (OB, OW, OF, OD, OL,
    OV, UN) and pixel data are left out, and so is an SR's content tree (``ContentItemsOmitted``
    counts its top-level items; the dose content is in the dose records). Values are never
    truncated here (Orthanc's simplified tags give ``null`` past 256 characters); the size cap is
    applied per record by :mod:`.record_size`.

``dose_records(ds)``
    For X-Ray/CT Radiation Dose SRs -- SOP class ...88.67, or any other SR class (e.g. Enhanced
    SR ...88.22 of older GE scanners) whose root concept is (113701, DCM) -- one
    ``RecordType=dose_report`` record (report context and accumulated values such as
    ``DLPTotal``, ``NumberOfEvents``, plus ``EventCount`` and ``FirstIrradiationEventUID``) and one
    ``RecordType=irradiation_event`` record per "CT Acquisition" (113819, TID 10013) or
    "Irradiation Event X-Ray Data" (113706, TID 10003) container, in document order, with
    ``EventIndex`` 1, 2, ... Other instances give ``[]``.

    Every record starts with the join keys taken from the DICOM header: SOPInstanceUID,
    StudyInstanceUID, SeriesInstanceUID, AccessionNumber, StationName, Manufacturer,
    ManufacturerModelName, DeviceSerialNumber, StudyDescription, RequestedProcedureDescription,
    SeriesDescription, SOPClassUID, PatientSex (each left out when absent or empty), StudyDateTime
    (ISO 8601 from StudyDate + StudyTime) and PatientAgeYears (see :func:`patient_age_years`).

    Content items become keys through the table in :mod:`.dose_concepts` (keyed by coding scheme
    and code value; unknown codes fall back to CamelCase of the meaning). Containers only group:
    an event record holds everything below its container, the report record everything else.

    * NUM -> a JSON number in its key's one UCUM unit (:mod:`.dose_units`), plus ``<key>_unit``.
      An item without a value (no measured value, or a NumericValueQualifier) is left out, never
      written as 0. Several values in one record (per-pulse, per-tube) -> scalars, see
      :mod:`.dose_fields`: mean, ``_min``, ``_max``, ``_count``, ``_Source<ID>``, ``_series``.
    * CODE -> the code meaning, plus ``<key>_code`` = ``SCHEME:VALUE``.
    * TEXT, UIDREF, PNAME -> strings; DATETIME/DATE/TIME -> ISO 8601; COMPOSITE/IMAGE/WAVEFORM ->
      the referenced SOP Instance UID. Spatial coordinates are left out.

Never loses a report to one bad item: an item that cannot be read (no value type, a CODE without
its code, text in a NUM, a unit that does not convert, an unreadable date) is skipped and named in
the ``ParseWarnings`` of its record -- content path (``1.12.6.3``: root, 12th child, ...) and
reason -- and the dose report counts them in ``ParseWarningCount``. Only a data set that cannot be
read at all (not DICOM) fails, and that happens before this module.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from pydicom.datadict import dictionary_has_tag, dictionary_keyword
from pydicom.dataelem import RawDataElement, convert_raw_data_element
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import Tag

from copydicom_provider.dicom.sr_items import ContentItem
from copydicom_provider.dicom.values import lean_text
from copydicom_provider.records.concepts import (
    DOSE_REPORT_ROOT,
    EVENT_CONTAINER_MEANINGS,
    EVENT_CONTAINERS,
    GROUP_CONTAINERS,
    HEADER_KEYS,
    LATERALITY,
    Group,
    concept_key,
)
from copydicom_provider.records.dose_fields import GroupLabel, RecordFields
from copydicom_provider.records.units import UnitError, key_unit

__all__ = ["dose_records", "instance_record", "is_dose_report",
           "patient_age_years"]

XRAY_RADIATION_DOSE_SR = "1.2.840.10008.5.1.4.1.1.88.67"
_SR_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."
BINARY_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN", "OB or OW", "US or OW",
                        "US or SS or OW"})
_PIXEL_DATA = Tag(0x7FE0, 0x0010)
_CONTENT_SEQUENCE = Tag(0x0040, 0xA730)
_NEEDS_CONCEPT = frozenset({"TEXT", "NUM", "CODE", "DATETIME", "DATE", "TIME", "UIDREF", "PNAME"})
_REFERENCE_TYPES = frozenset({"COMPOSITE", "IMAGE", "WAVEFORM"})


# --- instance record --------------------------------------------------------------------------


def instance_record(ds: Dataset, *, content_tree: bool = False) -> dict[str, Any]:
    """All non-binary tags of ``ds`` in Orthanc's simplified style (full length, never null).

    An SR's content tree (its top-level ``ContentSequence``) is left out unless ``content_tree``:
    a long report's tree runs to megabytes, more than Splunk accepts in one event. Its dose content
    is in the dose records; ``ContentItemsOmitted`` says how many top-level items the file holds.

    Why not ``ds[tag]`` for every tag: that converts the element *and* stores it back in the data
    set (tag compares, ``__setitem__``, private-block bookkeeping), most of this function's time
    on a plain image. A raw value that is plain ASCII text or binary numbers is read by
    :func:`~.dicom_values.lean_text`; another raw element is converted with pydicom's own
    :func:`convert_raw_data_element` and the result is not kept; binary elements are not converted
    at all. Sequences, ambiguous or implicit VRs (pydicom corrects them against the data set),
    the character set element and deferred values still go through ``ds[tag]``.
    """
    out: dict[str, Any] = {}
    unreadable: list[str] = []
    encoding = ds.original_character_set
    for tag, raw in list(ds.items()):
        try:
            number = int(tag)  # a pydicom tag compares through Python code
            text = lean_text(raw) if number != _CHARSET_TAG else None
            if text is not None:
                out[_record_key(out, number)] = text
                continue
            elem = _lean_element(tag, raw, encoding) if encoding else None
            if elem is _BINARY:
                continue
            if elem is None:
                elem = ds[tag]
            if elem.tag == _PIXEL_DATA or elem.VR in BINARY_VRS:
                continue
            if elem.tag == _CONTENT_SEQUENCE and not content_tree:
                out["ContentItemsOmitted"] = len(elem.value or [])
                continue
            key = _record_key(out, int(elem.tag))
            if elem.VR == "SQ":
                out[key] = [instance_record(item, content_tree=True) for item in elem.value]
            else:
                out[key] = _tag_text(elem.value, elem.VR)
        except Exception as exc:
            unreadable.append(f"{Tag(tag).group:04x},{Tag(tag).element:04x}: unreadable "
                              f"({type(exc).__name__}); skipped")
    if unreadable:
        out["ParseWarnings"] = " | ".join(unreadable[:20])
    return out


def _record_key(out: dict[str, Any], tag: int) -> str:
    """The keyword, else ``gggg,eeee`` (also for a repeating group's second keyword, e.g. 60xx overlays)."""
    key = _keyword(tag)
    return key if key and key not in out else f"{tag >> 16:04x},{tag & 0xFFFF:04x}"


#: What :func:`_lean_element` returns for an element the record leaves out unread.
_BINARY = object()
#: Explicit VRs that ``Dataset.__getitem__`` would convert no differently from a bare conversion.
_LEAN_VRS = frozenset({"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "PN", "SH", "SL",
                       "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UR", "US", "UT", "UV"})
_CHARSET_TAG = 0x00080005


def _lean_element(tag: int, raw: Any, encoding: Any) -> Any:
    """The converted element, ``_BINARY`` for one left out unread, None where ``ds[tag]`` must decide."""
    if not isinstance(raw, RawDataElement) or tag == _CHARSET_TAG or (raw.value is None and raw.length != 0):
        return None
    if raw.VR in BINARY_VRS and raw.VR != "UN":  # UN may become a known VR on conversion
        return _BINARY
    if raw.VR not in _LEAN_VRS:
        return None
    return convert_raw_data_element(raw, encoding=encoding)


@functools.lru_cache(maxsize=4096)
def _keyword(tag: int) -> str:
    """``DataElement.keyword``, looked up once per tag: '' for private, unknown and repeating-group tags."""
    return dictionary_keyword(tag) if dictionary_has_tag(tag) else ""


def _tag_text(value: Any, vr: str) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, MultiValue)):
        return "\\".join(_tag_text(v, vr) for v in value)
    if vr == "AT":
        tag = Tag(value)
        return f"{tag.group:04x},{tag.element:04x}"
    if isinstance(value, bytes):
        return value.decode("ascii", errors="replace")
    return str(value)


# --- dose records -----------------------------------------------------------------------------


def is_dose_report(ds: Dataset | ContentItem) -> bool:
    """X-Ray Radiation Dose SR class, or another SR class with root (113701, DCM)."""
    sop_class = str(ds.get("SOPClassUID", ""))
    if sop_class == XRAY_RADIATION_DOSE_SR:
        return True
    if not sop_class.startswith(_SR_CLASS_PREFIX):
        return False
    seq = ds.get("ConceptNameCodeSequence")
    if not seq:
        return False
    return (seq[0].get("CodingSchemeDesignator"), seq[0].get("CodeValue")) == DOSE_REPORT_ROOT


def dose_records(ds: Dataset, *, lean: bool = True) -> list[dict[str, Any]]:
    """``[dose_report, irradiation_event...]`` for a dose SR, ``[]`` for anything else.

    Never raises for a readable data set: an item that cannot be read is skipped and named in the
    ``ParseWarnings`` of the record it belongs to. ``lean=False`` reads every value through
    pydicom (the reference :mod:`.sr_items` is tested against); the records are the same.
    """
    root = ContentItem(ds, lean=lean)
    if not is_dose_report(root):
        return []
    report = RecordFields()
    header = _header(root, report)
    walker = _Walker()
    walker.walk(_content(root, report), report, "1", None)
    events = [event.record() for event in walker.events]
    summary: dict[str, Any] = {"EventCount": len(events)}
    first_uid = next((e["IrradiationEventUID"] for e in events
                      if isinstance(e.get("IrradiationEventUID"), str)), None)
    if first_uid:
        summary["FirstIrradiationEventUID"] = first_uid
    warnings = len(report.warnings) + sum(len(event.warnings) for event in walker.events)
    if warnings:
        summary["ParseWarningCount"] = warnings
    records = [{"RecordType": "dose_report", **header, **report.record(), **summary}]
    for index, event in enumerate(events, 1):
        records.append({"RecordType": "irradiation_event", "EventIndex": index, **header, **event})
    return records


def _content(ds: ContentItem, report: RecordFields) -> Any:
    try:
        return ds.get("ContentSequence") or []
    except Exception as exc:
        report.warn("1", f"content tree unreadable: {type(exc).__name__}: {exc}")
        return []


def patient_age_years(age: str | None) -> int | float | None:
    """``045Y`` -> 45; ``006M`` -> 0.5, ``010W``/``003D`` -> years rounded to 2 places; else None.

    Why fractional years rather than leaving months out: paediatric dose is where averages by
    age matter most, and one numeric field lets a search bucket every age the same way.
    """
    match = re.fullmatch(r"\s*(\d{1,3})\s*([DWMY])\s*", str(age or ""))
    if not match:
        return None
    n, unit = int(match.group(1)), match.group(2)
    if unit == "Y":
        return n
    days_per_unit = {"M": 365.25 / 12, "W": 7.0, "D": 1.0}[unit]
    return round(n * days_per_unit / 365.25, 2)


def _header(ds: ContentItem, report: RecordFields) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for keyword in HEADER_KEYS:
        try:
            value = ds.get(keyword)
            if value not in (None, ""):
                out[keyword] = _tag_text(value, "")
        except Exception as exc:
            report.warn(keyword, f"unreadable: {type(exc).__name__}")
    try:
        study_dt = iso_datetime(str(ds.get("StudyDate", "")) + str(ds.get("StudyTime", "")))
        if study_dt:
            out["StudyDateTime"] = study_dt
        age = patient_age_years(ds.get("PatientAge"))
        if age is not None:
            out["PatientAgeYears"] = age
    except Exception as exc:
        report.warn("StudyDate", f"unreadable: {type(exc).__name__}")
    return out


class _Skip(Exception):
    """This content item cannot be read; it is skipped and named in ParseWarnings."""


class _Walker:
    """Depth-first walk of the content tree; event containers open a record of their own."""

    def __init__(self) -> None:
        self.events: list[RecordFields] = []

    def walk(self, items: Any, fields: RecordFields, path: str, group: GroupLabel | None) -> None:
        for i, item in enumerate(items, 1):
            where = f"{path}.{i}"
            try:
                self.item(item, fields, where, group)
            except RecursionError:
                fields.warn(where, "nested too deep; skipped")
            except Exception as exc:
                fields.warn(where, f"{type(exc).__name__}: {exc}; skipped")

    def item(self, item: ContentItem, fields: RecordFields, path: str, group: GroupLabel | None) -> None:
        value_type = item.get("ValueType")
        children = item.get("ContentSequence") or []
        if value_type == "CONTAINER":
            concept = self.concept(item, required=False, fields=fields, path=path)
            if concept is not None and _is_event(concept):
                fields = RecordFields()
                self.events.append(fields)
            elif concept is not None and concept[:2] in GROUP_CONTAINERS:
                group = _group_label(GROUP_CONTAINERS[concept[:2]], children, fields)
            self.walk(children, fields, path, group)
            return
        try:
            if not value_type:
                raise _Skip("has no ValueType")
            concept = self.concept(item, required=value_type in _NEEDS_CONCEPT, fields=fields, path=path)
            if concept is not None:
                self.value(item, value_type, concept_key(*concept), fields, group)
        except _Skip as skip:
            fields.warn(path, f"{skip}; skipped")
        self.walk(children, fields, path, group)

    def concept(self, item: ContentItem, *, required: bool, fields: RecordFields,
                path: str) -> tuple[str, str, str] | None:
        seq = item.get("ConceptNameCodeSequence")
        if not seq:
            if required:
                raise _Skip(f"{item.get('ValueType')} item has no concept name")
            return None
        scheme, value, meaning = _code(seq[0])
        if not value:
            if required:
                raise _Skip(f"concept name {meaning!r} has no code value")
            if not meaning:
                return None
        return scheme, value, meaning

    def value(self, item: ContentItem, value_type: str, key: str, fields: RecordFields,
              group: GroupLabel | None) -> None:
        if value_type == "NUM":
            self.num(item, key, fields, _laterality(item) or group)
        elif value_type == "CODE":
            seq = item.get("ConceptCodeSequence")
            if not seq:
                raise _Skip(f"CODE item {key} has no ConceptCodeSequence")
            scheme, value, meaning = _code(seq[0])
            if not value:
                raise _Skip(f"CODE item {key}: its code has no code value")
            fields.add(key, meaning, f"{scheme}:{value}")
        elif value_type in ("TEXT", "UIDREF", "PNAME"):
            attr = {"TEXT": "TextValue", "UIDREF": "UID", "PNAME": "PersonName"}[value_type]
            if attr not in item:
                raise _Skip(f"{value_type} item {key} has no {attr}")
            text = _tag_text(item.get(attr), "")
            if text:
                fields.add(key, text)
        elif value_type in ("DATETIME", "DATE", "TIME"):
            attr = {"DATETIME": "DateTime", "DATE": "Date", "TIME": "Time"}[value_type]
            raw = str(item.get(attr) or "")
            if not raw:
                return
            iso = {"DATETIME": iso_datetime, "DATE": iso_date, "TIME": iso_time}[value_type](raw)
            if iso is None:
                raise _Skip(f"{value_type} item {key} has unreadable value {raw[:40]!r}")
            fields.add(key, iso)
        elif value_type in _REFERENCE_TYPES:
            refs = item.get("ReferencedSOPSequence") or []
            if refs and refs[0].get("ReferencedSOPInstanceUID"):
                fields.add(key, str(refs[0].get("ReferencedSOPInstanceUID")))

    def num(self, item: ContentItem, key: str, fields: RecordFields, group: GroupLabel | None) -> None:
        measured = item.get("MeasuredValueSequence")
        if not measured:
            return  # no value (maybe a NumericValueQualifier): omitted, never 0
        mv = measured[0]
        raw = mv.get("NumericValue")
        if raw is None or raw == "":
            raw = mv.get("FloatingPointValue")
        if raw is None or raw == "":
            return
        raws = list(raw) if isinstance(raw, (list, MultiValue)) else [raw]
        units = mv.get("MeasurementUnitsCodeSequence")
        unit, factor = None, Decimal(1)
        if units:
            try:
                unit, factor = key_unit(key, str(units[0].get("CodeValue") or ""))
            except UnitError as exc:
                raise _Skip(f"NUM item {key}: {exc}") from None
        numbers = []
        for one in raws:
            try:
                number = Decimal(str(one).strip()) * factor
            except InvalidOperation:
                raise _Skip(f"NUM item {key} has non-numeric value {str(one)[:40]!r}") from None
            if not number.is_finite():
                raise _Skip(f"NUM item {key} has non-finite value {str(one)[:40]!r}")
            numbers.append(number)
        for number in numbers:
            if not fields.add_number(key, number, unit, group):
                raise _Skip(f"NUM item {key} in {unit!r}, the record holds it in "
                            f"{fields.units[key]!r}")


def _code(code: ContentItem) -> tuple[str, str, str]:
    value = code.get("CodeValue") or code.get("LongCodeValue") or code.get("URNCodeValue") or ""
    scheme = str(code.get("CodingSchemeDesignator") or "")
    return scheme, str(value), str(code.get("CodeMeaning") or "")


def _group_label(group: Group, children: Any, fields: RecordFields) -> GroupLabel:
    """``SourceA`` from a tube container's identification; ``Source2`` by position when it has none."""
    seen = fields.groups.get(group.fallback, 0) + 1
    fields.groups[group.fallback] = seen
    for child in children:
        seq = child.get("ConceptNameCodeSequence")
        if seq and _code(seq[0])[:2] in group.naming:
            name = _child_text(child)
            if name:
                return GroupLabel(group.prefix + name, group.total)
    return GroupLabel(f"{group.fallback}{seen}", group.total)


def _laterality(item: ContentItem) -> GroupLabel | None:
    """``LeftBreast`` when a NUM carries a laterality modifier (accumulated AGD per breast)."""
    for child in item.get("ContentSequence") or []:
        seq = child.get("ConceptNameCodeSequence")
        if seq and _code(seq[0])[:2] in LATERALITY:
            name = _child_text(child)
            if name:
                return GroupLabel(name, False)
    return None


def _child_text(child: ContentItem) -> str:
    """A naming child's value, CamelCase letters and digits: "A", "PlaneA", "Copper", "LeftBreast"."""
    text = str(child.get("TextValue") or child.get("UID") or "")
    if not text:
        code = child.get("ConceptCodeSequence")
        text = _code(code[0])[2] if code else ""
    words = [w for w in re.split(r"[^0-9A-Za-z]+", text) if w]
    return "".join(w[0].upper() + w[1:] for w in words)[:32]


def _is_event(concept: tuple[str, str, str]) -> bool:
    scheme, value, meaning = concept
    return (scheme, value) in EVENT_CONTAINERS or meaning.strip().lower() in \
        EVENT_CONTAINER_MEANINGS


# --- DICOM date/time -> ISO 8601 ---------------------------------------------------------------

_DT = re.compile(r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,6})?([+-]\d{4})?")


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
    match = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", raw.strip())
    return "-".join(match.groups()) if match else None


def iso_time(raw: str) -> str | None:
    match = re.fullmatch(r"(\d{2})(\d{2})?(\d{2})?(\.\d{1,6})?", raw.strip()) or \
        re.fullmatch(r"(\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?", raw.strip())
    if not match:
        return None
    hour, minute, second, fraction = match.groups()
    return hour + "".join(f":{p}" for p in (minute, second) if p) + (fraction or "")
