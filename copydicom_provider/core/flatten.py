"""One DICOM instance -> flat key/value records for the index (pure Python, no Airflow).

Why flat: nested SR output forced the original tool's dashboards into ``spath``/``mvexpand`` and
broke when a report had one acquisition instead of several. Here every record is one flat dict.

``instance_record(ds)``
    The instance's tags in Orthanc's "simplified" style: keyword -> string (multi-values joined
    with ``\\``, person names as ``Family^Given``, dates as DICOM writes them), sequences as lists
    of such dicts, tags without a keyword under ``"gggg,eeee"``. Binary VRs (OB, OW, OF, OD, OL,
    OV, UN) and pixel data are left out. Values are never truncated (Orthanc's simplified tags
    give ``null`` past 256 characters; we read the file, so we keep them whole).

``dose_records(ds)``
    For X-Ray/CT Radiation Dose SRs -- SOP class ...88.67, or any other SR class (e.g. Enhanced
    SR ...88.22 of older GE scanners) whose root concept is (113701, DCM) -- one
    ``RecordType=dose_report`` record (report context and accumulated values such as
    ``DLPTotal``, ``NumberOfEvents``) and one ``RecordType=irradiation_event`` record per "CT
    Acquisition" (113819, TID 10013) or "Irradiation Event X-Ray Data" (113706, TID 10003)
    container, in document order, with ``EventIndex`` 1, 2, ... Other instances give ``[]``.

    Every record starts with the join keys taken from the DICOM header: SOPInstanceUID,
    StudyInstanceUID, SeriesInstanceUID, AccessionNumber, StationName, Manufacturer,
    ManufacturerModelName, DeviceSerialNumber, StudyDescription, RequestedProcedureDescription,
    SeriesDescription, SOPClassUID, PatientSex (each left out when absent or empty), StudyDateTime
    (ISO 8601 from StudyDate + StudyTime) and PatientAgeYears (see :func:`patient_age_years`).

    Content items become keys through the table in :mod:`.dose_concepts` (keyed by coding scheme
    and code value; unknown codes fall back to CamelCase of the meaning). Containers only group:
    an event record holds everything below its container, the report record everything else.

    * NUM -> JSON number, plus ``<key>_unit`` in UCUM; doses in mGy, DLP in mGy.cm, DAP in Gy.m2
      (``mGycm`` -> ``mGy.cm``, ``Gy.cm`` scaled by 1000). An item without a value (no measured
      value, or a NumericValueQualifier) is left out, never written as 0.
    * CODE -> the code meaning, plus ``<key>_code`` = ``SCHEME:VALUE``.
    * TEXT, UIDREF, PNAME -> strings; DATETIME/DATE/TIME -> ISO 8601; COMPOSITE/IMAGE/WAVEFORM ->
      the referenced SOP Instance UID. Spatial coordinates are left out.
    * A concept repeated within one record (dual-source tubes A and B) -> a list in document
      order; its ``_unit`` stays one string when all units agree.

Example irradiation_event (abridged)::

    {"RecordType": "irradiation_event", "EventIndex": 2, "SOPInstanceUID": "1.2...",
     "StudyInstanceUID": "1.2...", "AccessionNumber": "ACC0001", "PatientAgeYears": 45, ...,
     "AcquisitionProtocol": "Thorax Routine", "TargetRegion": "Chest",
     "TargetRegion_code": "SCT:816094009", "AcquisitionType": "Spiral Acquisition",
     "AcquisitionType_code": "SCT:116152004", "IrradiationEventUID": "1.2...",
     "KVP": [100, 140], "KVP_unit": "kV", "CTDIvol": 12.29, "CTDIvol_unit": "mGy",
     "PhantomType": "IEC Body Dosimetry Phantom", "PhantomType_code": "DCM:113691",
     "DLP": 838.68, "DLP_unit": "mGy.cm"}

A valid SR never raises; a broken one (item without a value type, code item without its code,
non-numeric NUM, unreadable date) raises :class:`FlattenError` naming the instance and the
content item (``1.12.6.3``: root, 12th child, ...), so a caller can report and skip it.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import Tag

from copydicom_provider.core.dose_concepts import (
    DOSE_REPORT_ROOT,
    EVENT_CONTAINER_MEANINGS,
    EVENT_CONTAINERS,
    HEADER_KEYS,
    concept_key,
    normalise_unit,
)

__all__ = ["FlattenError", "dose_records", "instance_record", "is_dose_report",
           "patient_age_years"]

XRAY_RADIATION_DOSE_SR = "1.2.840.10008.5.1.4.1.1.88.67"
_SR_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."
BINARY_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN", "OB or OW", "US or OW",
                        "US or SS or OW"})
_PIXEL_DATA = Tag(0x7FE0, 0x0010)
_NEEDS_CONCEPT = frozenset({"TEXT", "NUM", "CODE", "DATETIME", "DATE", "TIME", "UIDREF", "PNAME"})
_REFERENCE_TYPES = frozenset({"COMPOSITE", "IMAGE", "WAVEFORM"})


class FlattenError(ValueError):
    """A dose report this module cannot read; says which instance and which content item."""

    def __init__(self, sop_instance_uid: str, where: str, problem: str) -> None:
        self.sop_instance_uid, self.where, self.problem = sop_instance_uid, where, problem
        super().__init__(f"instance {sop_instance_uid}: content item {where}: {problem}")


# --- instance record --------------------------------------------------------------------------


def instance_record(ds: Dataset) -> dict[str, Any]:
    """All non-binary tags of ``ds`` in Orthanc's simplified style (full length, never null)."""
    out: dict[str, Any] = {}
    for elem in ds:
        if elem.tag == _PIXEL_DATA or elem.VR in BINARY_VRS:
            continue
        key = elem.keyword or f"{elem.tag.group:04x},{elem.tag.element:04x}"
        if key in out:  # repeating groups (60xx overlays) share a keyword
            key = f"{elem.tag.group:04x},{elem.tag.element:04x}"
        if elem.VR == "SQ":
            out[key] = [instance_record(item) for item in elem.value]
        else:
            out[key] = _tag_text(elem.value, elem.VR)
    return out


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


def is_dose_report(ds: Dataset) -> bool:
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


def dose_records(ds: Dataset) -> list[dict[str, Any]]:
    """``[dose_report, irradiation_event...]`` for a dose SR, ``[]`` for anything else."""
    if not is_dose_report(ds):
        return []
    walker = _Walker(str(ds.get("SOPInstanceUID", "?")))
    try:
        header = _header(ds)
        report = _Fields()
        walker.walk(ds.get("ContentSequence") or [], report, "1")
    except FlattenError:
        raise
    except (AttributeError, KeyError, IndexError, TypeError, ValueError, LookupError) as exc:
        raise FlattenError(walker.sop_uid, walker.where, f"{type(exc).__name__}: {exc}") from exc
    records = [{"RecordType": "dose_report", **header, **report.record()}]
    for index, event in enumerate(walker.events, 1):
        records.append({"RecordType": "irradiation_event", "EventIndex": index, **header,
                        **event.record()})
    return records


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


def _header(ds: Dataset) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for keyword in HEADER_KEYS:
        value = ds.get(keyword)
        if value not in (None, ""):
            out[keyword] = _tag_text(value, "")
    study_dt = iso_datetime(str(ds.get("StudyDate", "")) + str(ds.get("StudyTime", "")))
    if study_dt:
        out["StudyDateTime"] = study_dt
    age = patient_age_years(ds.get("PatientAge"))
    if age is not None:
        out["PatientAgeYears"] = age
    return out


class _Fields:
    """Values gathered for one record; repeated keys become lists in document order."""

    def __init__(self) -> None:
        self.values: dict[str, list[Any]] = {}
        self.extras: dict[str, list[Any]] = {}  # "<key>_unit" / "<key>_code"

    def add(self, key: str, value: Any, extra: tuple[str, Any] | None = None) -> None:
        self.values.setdefault(key, []).append(value)
        if extra is not None:
            self.extras.setdefault(f"{key}_{extra[0]}", []).append(extra[1])

    def record(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, values in self.values.items():
            out[key] = values[0] if len(values) == 1 else values
            for suffix in ("unit", "code"):
                extra = self.extras.get(f"{key}_{suffix}")
                if extra is None:
                    continue
                if suffix == "unit" and len(set(extra)) == 1:
                    out[f"{key}_unit"] = extra[0]
                else:
                    out[f"{key}_{suffix}"] = extra[0] if len(extra) == 1 else extra
        return out


class _Walker:
    """Depth-first walk of the content tree; event containers open a record of their own."""

    def __init__(self, sop_uid: str) -> None:
        self.sop_uid = sop_uid
        self.where = "1"
        self.events: list[_Fields] = []

    def fail(self, problem: str) -> FlattenError:
        return FlattenError(self.sop_uid, self.where, problem)

    def walk(self, items: Any, fields: _Fields, path: str) -> None:
        for i, item in enumerate(items, 1):
            self.where = f"{path}.{i}"
            self.item(item, fields, self.where)

    def item(self, item: Dataset, fields: _Fields, path: str) -> None:
        value_type = item.get("ValueType")
        if not value_type:
            raise self.fail("has no ValueType")
        concept = self.concept(item, required=value_type in _NEEDS_CONCEPT)
        children = item.get("ContentSequence") or []
        if value_type == "CONTAINER":
            if concept is not None and _is_event(concept):
                fields = _Fields()
                self.events.append(fields)
            self.walk(children, fields, path)
            return
        if concept is not None:
            key = concept_key(*concept)
            self.value(item, value_type, key, fields)
        self.walk(children, fields, path)

    def concept(self, item: Dataset, required: bool) -> tuple[str, str, str] | None:
        seq = item.get("ConceptNameCodeSequence")
        if not seq:
            if required:
                raise self.fail(f"{item.ValueType} item has no concept name")
            return None
        return self.code(seq[0], "concept name")

    def code(self, code: Dataset, what: str) -> tuple[str, str, str]:
        value = code.get("CodeValue") or code.get("LongCodeValue") or code.get("URNCodeValue")
        if not value:
            raise self.fail(f"{what} has no code value")
        scheme = str(code.get("CodingSchemeDesignator") or "")
        return scheme, str(value), str(code.get("CodeMeaning") or "")

    def value(self, item: Dataset, value_type: str, key: str, fields: _Fields) -> None:
        if value_type == "NUM":
            self.num(item, key, fields)
        elif value_type == "CODE":
            seq = item.get("ConceptCodeSequence")
            if not seq:
                raise self.fail(f"CODE item {key} has no ConceptCodeSequence")
            scheme, value, meaning = self.code(seq[0], f"{key} value")
            fields.add(key, meaning, ("code", f"{scheme}:{value}"))
        elif value_type in ("TEXT", "UIDREF", "PNAME"):
            attr = {"TEXT": "TextValue", "UIDREF": "UID", "PNAME": "PersonName"}[value_type]
            if attr not in item:
                raise self.fail(f"{value_type} item {key} has no {attr}")
            text = _tag_text(item[attr].value, "")
            if text:
                fields.add(key, text)
        elif value_type in ("DATETIME", "DATE", "TIME"):
            attr = {"DATETIME": "DateTime", "DATE": "Date", "TIME": "Time"}[value_type]
            raw = str(item.get(attr) or "")
            if not raw:
                return
            iso = {"DATETIME": iso_datetime, "DATE": iso_date, "TIME": iso_time}[value_type](raw)
            if iso is None:
                raise self.fail(f"{value_type} item {key} has unreadable value {raw!r}")
            fields.add(key, iso)
        elif value_type in _REFERENCE_TYPES:
            refs = item.get("ReferencedSOPSequence") or []
            if refs and refs[0].get("ReferencedSOPInstanceUID"):
                fields.add(key, str(refs[0].ReferencedSOPInstanceUID))

    def num(self, item: Dataset, key: str, fields: _Fields) -> None:
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
        unit, factor = (None, Decimal(1))
        if units:
            unit, factor = normalise_unit(str(units[0].get("CodeValue") or ""))
        for one in raws:
            try:
                number = Decimal(str(one).strip()) * factor
            except InvalidOperation:
                raise self.fail(f"NUM item {key} has non-numeric value {str(one)!r}") from None
            if not number.is_finite():
                raise self.fail(f"NUM item {key} has non-finite value {str(one)!r}")
            fields.add(key, _json_number(number), ("unit", unit) if unit else None)


def _is_event(concept: tuple[str, str, str]) -> bool:
    scheme, value, meaning = concept
    return (scheme, value) in EVENT_CONTAINERS or meaning.strip().lower() in \
        EVENT_CONTAINER_MEANINGS


def _json_number(number: Decimal) -> int | float:
    """Integral values as int (``3`` events, ``120`` kV), the rest as float."""
    if number == number.to_integral_value() and abs(number) < 2**53:
        return int(number)
    return float(number)


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
