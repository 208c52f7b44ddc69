"""One Orthanc instance -> the records the index receives (``instance``, ``dose_report``, ``irradiation_event``).

Pure shaping, no I/O: the data set comes from :mod:`.fetch`.

Every record carries ``RecordKey``, the same on every run: ``<OrthancInstanceID>:instance``,
``<OrthancInstanceID>:dose_report`` and ``irradiation_event:<IrradiationEventUID>`` (one record per
event in the index, whichever reports carry it), and the Orthanc IDs and source name, so that any
record joins back to the instance it came from. Every record is fitted under a byte cap
(:mod:`.size`) so that Splunk takes it whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pydicom.dataset import Dataset

from copydicom_provider.dicom.sr_items import ContentItem
from copydicom_provider.dicom.text import iso_datetime
from copydicom_provider.records.completeness import declared_shortfall, mark_incomplete
from copydicom_provider.records.dose import dose_records, is_dose_report
from copydicom_provider.records.size import fit_record, max_record_bytes
from copydicom_provider.records.tags import instance_record

__all__ = ["ID_KEYS", "InstanceRecords", "event_key", "event_keys", "event_time", "instance_records", "record_key"]

ID_KEYS = ("OrthancInstanceID", "OrthancSeriesID", "OrthancStudyID", "OrthancPatientID")


def record_key(instance_id: str, record_type: str, event_index: int | None = None) -> str:
    """Deterministic key of one record: the same on every run, so a resend is recognisable."""
    return f"{instance_id}:{record_type}" + (f":{event_index}" if event_index is not None else "")


def event_key(record: dict[str, Any], instance_id: str) -> str:
    """``irradiation_event:<IrradiationEventUID>``, whatever report or study carries the event.

    Why not by instance: a scanner's cumulative report repeats the earlier events, and one SR may be
    stored in two studies; keyed by its UID an event is indexed once, however many reports carry it.
    An event without a (single) UID keeps the per-instance key ``<instance>:irradiation_event:<n>``.
    """
    uid = record.get("IrradiationEventUID")
    if isinstance(uid, str) and uid.strip():
        return f"irradiation_event:{uid.strip()}"
    return record_key(instance_id, "irradiation_event", record.get("EventIndex"))


def event_keys(dose: list[dict[str, Any]], instance_id: str) -> list[tuple[str, dict[str, Any]]]:
    """Each dose record with its key; an event repeated whole within one report is kept once.

    Some scanners put one UID on several different events of a report: the second and later of
    them get ``#2``, ``#3``, ... after the key, in document order -- the same order, hence the same
    keys, in every later version of a cumulative report -- so none of them is lost.
    """
    out: list[tuple[str, dict[str, Any]]] = []
    seen: dict[str, list[dict[str, Any]]] = {}
    for record in dose:
        if record["RecordType"] != "irradiation_event":
            out.append((record_key(instance_id, record["RecordType"]), record))
            continue
        base = event_key(record, instance_id)
        content = {k: v for k, v in record.items() if k != "EventIndex"}
        earlier = seen.setdefault(base, [])
        if content in earlier:
            continue  # the same event written twice
        earlier.append(content)
        out.append((base if len(earlier) == 1 else f"{base}#{len(earlier)}", record))
    return out


def event_time(ds: Dataset | ContentItem, reception: str | None) -> float | None:
    """Epoch seconds from StudyDate+StudyTime (taken as UTC), else Orthanc's reception time, else None.

    DICOM dates carry no zone unless TimezoneOffsetFromUTC is set; a study's wall-clock time read
    as UTC keeps "per day" searches on the scanner's own calendar day.
    """
    iso = iso_datetime(str(ds.get("StudyDate", "") or "") + str(ds.get("StudyTime", "") or "").strip())
    for text in (iso, _orthanc_moment(reception)):
        if not text:
            continue
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return round(moment.timestamp(), 3)
    return None


def _orthanc_moment(value: str | None) -> str | None:
    """Orthanc's ``20261129T034636`` -> ISO 8601."""
    if not value or len(value) < 15:
        return None
    return f"{value[0:4]}-{value[4:6]}-{value[6:8]}T{value[9:11]}:{value[11:13]}:{value[13:15]}"


@dataclass
class InstanceRecords:
    """The records of one instance, in the order they are sent: dose records, then the instance.

    The instance record goes last: HEC accepts a batch in order, so once it is indexed its dose
    records are too, and "already indexed" (asked by instance record) never hides a lost report.
    """

    instance_id: str
    time: float | None
    records: list[dict[str, Any]] = field(default_factory=list)
    #: why its dose report holds less than it should ("" when whole); see :mod:`.completeness`
    incomplete: str = ""

    @property
    def dose_reports(self) -> int:
        return sum(1 for r in self.records if r["RecordType"] == "dose_report")

    @property
    def irradiation_events(self) -> int:
        return sum(1 for r in self.records if r["RecordType"] == "irradiation_event")


def instance_records(
    ds: Dataset, instance_id: str, ids: dict[str, str], source_name: str, reception: str | None,
    *, max_bytes: int | None = None,
) -> InstanceRecords:
    """Build every record of one instance, each fitted under ``max_bytes`` (see :mod:`.size`).

    Never raises for a data set that was read: a dose report that cannot be flattened at all still
    gives its instance record, with the reason in ``ParseWarnings``. Event keys: see :func:`event_keys`.
    """
    limit = max_record_bytes(max_bytes)
    common = {key: ids[key] for key in ID_KEYS}
    common["OrthancSource"] = source_name
    header = ContentItem(ds)  # the few header values read here, read lean
    stamp = event_time(header, reception)
    out = InstanceRecords(instance_id, stamp)
    warnings: list[str] = []
    try:
        dose = dose_records(ds)
    except Exception as exc:
        dose, warnings = [], [f"dose records not built: {type(exc).__name__}: {exc}"[:300]]
    for key, record in event_keys(dose, instance_id):
        full = {"RecordType": record["RecordType"], "RecordKey": key, **common, **record}
        out.records.append(fit_record(full, limit))
    # a dose SR's tree is in its dose records; another SR keeps its tree while the record fits
    tags = instance_record(ds, content_tree=not is_dose_report(header))
    record = {
        "RecordType": "instance",
        "RecordKey": record_key(instance_id, "instance"),
        **common,
        "ReceptionDate": _orthanc_moment(reception),
        **{k: v for k, v in tags.items() if k not in common and k not in ("RecordType", "RecordKey")},
    }
    if warnings:
        record["ParseWarnings"] = " | ".join([*warnings, *filter(None, [record.get("ParseWarnings")])])
    out.records.append(fit_record(record, limit))
    shortfall = next((declared_shortfall(r) for r in dose if r["RecordType"] == "dose_report"), None)
    if shortfall:
        mark_incomplete(out, shortfall, max_bytes=max_bytes)
    return out
