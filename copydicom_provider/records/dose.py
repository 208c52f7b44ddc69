"""A dose report (DICOM SR) -> flat records for the index (pure Python, no Airflow).

Why flat: nested SR output forced the original tool's dashboards into ``spath``/``mvexpand`` and
broke when a report had one acquisition instead of several. Here every record is one flat dict.

``dose_records(ds)``
    For X-Ray/CT Radiation Dose SRs -- SOP class ...88.67, or any other SR class (e.g. Enhanced
    SR ...88.22 of older GE scanners) whose root concept is (113701, DCM) -- one
    ``RecordType=dose_report`` record (report context and accumulated values such as
    ``DLPTotal``, ``NumberOfEvents``, plus ``EventCount`` and ``FirstIrradiationEventUID``) and one
    ``RecordType=irradiation_event`` record per "CT Acquisition" (113819, TID 10013) or
    "Irradiation Event X-Ray Data" (113706, TID 10003) container, in document order, with
    ``EventIndex`` 1, 2, ... Radiopharmaceutical Radiation Dose SRs (...88.68, root (113500, DCM))
    give their one ``dose_report`` record (see :mod:`.radiopharmaceutical`). Other instances give ``[]``.

    Every record starts with the join keys taken from the DICOM header: SOPInstanceUID,
    StudyInstanceUID, SeriesInstanceUID, AccessionNumber, StationName, Manufacturer,
    ManufacturerModelName, DeviceSerialNumber, StudyDescription, RequestedProcedureDescription,
    SeriesDescription, SOPClassUID, PatientSex (each left out when absent or empty), StudyDateTime
    (ISO 8601 from StudyDate + StudyTime) and PatientAgeYears (see :func:`patient_age_years`).

    Content items become keys through the table in :mod:`.concepts` (keyed by coding scheme
    and code value; unknown codes fall back to CamelCase of the meaning); the tree is walked by
    :mod:`.sr_walk`. Containers only group: an event record holds everything below its container,
    the report record everything else.

    * NUM -> a JSON number in its key's one UCUM unit (:mod:`.units`), plus ``<key>_unit``.
      An item without a value (no measured value, or a NumericValueQualifier) is left out, never
      written as 0. A value of a key with a unit that has no unit, an empty unit sequence or a
      unit not known goes to ``<key>_Unconverted`` + ``<key>_UnconvertedUnit``, with a warning,
      never into ``<key>``. Several values in one record (per-pulse, per-tube) -> scalars, see
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

import re
from typing import Any

from pydicom.dataset import Dataset

from copydicom_provider.dicom.sr_items import ContentItem
from copydicom_provider.dicom.text import iso_datetime, value_text
from copydicom_provider.records.breasts import agd_over_imaged_breasts
from copydicom_provider.records.concepts import DOSE_REPORT_ROOT, HEADER_KEYS
from copydicom_provider.records.dose_fields import RecordFields
from copydicom_provider.records.radiopharmaceutical import RADIOPHARMACEUTICAL_DOSE_SR, RADIOPHARMACEUTICAL_ROOT
from copydicom_provider.records.sr_walk import ContentWalker

__all__ = ["XRAY_RADIATION_DOSE_SR", "dose_records", "is_dose_report", "patient_age_years"]

XRAY_RADIATION_DOSE_SR = "1.2.840.10008.5.1.4.1.1.88.67"
_SR_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."


def is_dose_report(ds: Dataset | ContentItem) -> bool:
    """X-Ray or Radiopharmaceutical Radiation Dose SR class, or another SR class with either root."""
    sop_class = str(ds.get("SOPClassUID", ""))
    if sop_class in (XRAY_RADIATION_DOSE_SR, RADIOPHARMACEUTICAL_DOSE_SR):
        return True
    if not sop_class.startswith(_SR_CLASS_PREFIX):
        return False
    seq = ds.get("ConceptNameCodeSequence")
    if not seq:
        return False
    return (seq[0].get("CodingSchemeDesignator"), seq[0].get("CodeValue")) in (DOSE_REPORT_ROOT,
                                                                               RADIOPHARMACEUTICAL_ROOT)


def dose_records(ds: Dataset, *, lean: bool = True) -> list[dict[str, Any]]:
    """``[dose_report, irradiation_event...]`` for a dose SR, ``[]`` for anything else.

    Never raises for a readable data set: an item that cannot be read is skipped and named in the
    ``ParseWarnings`` of the record it belongs to. ``lean=False`` reads every value through
    pydicom (the reference :mod:`copydicom_provider.dicom.sr_items` is tested against); the records are the same.
    """
    root = ContentItem(ds, lean=lean)
    if not is_dose_report(root):
        return []
    report = RecordFields()
    header = _header(root, report)
    walker = ContentWalker()
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
    report_fields = report.record()
    agd_over_imaged_breasts(report_fields, events)
    records = [{"RecordType": "dose_report", **header, **report_fields, **summary}]
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
    """The join keys every record of the report starts with; an unreadable one is named in ParseWarnings."""
    out: dict[str, Any] = {}
    for keyword in HEADER_KEYS:
        value = _header_value(ds, keyword, report)
        if value is not None:
            out[keyword] = value
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


def _header_value(ds: ContentItem, keyword: str, report: RecordFields) -> str | None:
    try:
        value = ds.get(keyword)
        return None if value in (None, "") else value_text(value)
    except Exception as exc:
        report.warn(keyword, f"unreadable: {type(exc).__name__}")
        return None
