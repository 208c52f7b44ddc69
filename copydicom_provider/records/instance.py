"""One Orthanc instance -> the records the index receives (``instance``, ``dose_report``, ``irradiation_event``).

Why read the file rather than Orthanc's simplified tags: Orthanc 1.10 gives ``null`` for values over
256 characters, which would silently lose long SR text. The file is read up to its pixel data and
no further (``stop_before_pixels`` over the HTTP stream), so a 500 MB multi-frame costs what its
header costs, and a worker's memory stays bounded by the largest header, not the largest file.

Every record carries ``RecordKey``, the same on every run: ``<OrthancInstanceID>:instance``,
``<OrthancInstanceID>:dose_report`` and ``irradiation_event:<IrradiationEventUID>`` (one record per
event in the index, whichever reports carry it), and the Orthanc IDs and source name, so that any
record joins back to the instance it came from. Every record is fitted under a byte cap
(:mod:`.record_size`) so that Splunk takes it whole.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset

from copydicom_provider.dicom.ids import orthanc_ids
from copydicom_provider.dicom.sr_items import ContentItem
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.hooks.orthanc_pool import LeanHttp, lean_http
from copydicom_provider.records.flatten import dose_records, instance_record, is_dose_report, iso_datetime
from copydicom_provider.records.size import fit_record, max_record_bytes

__all__ = ["InstanceRecords", "RecordError", "event_key", "event_keys", "event_time", "fetch_instance_records",
           "instance_records", "instances_metadata", "read_header", "read_instance_records", "record_key"]

CHUNK = 64 * 1024
#: Bytes kept behind the read position; pydicom only ever seeks back a few bytes.
KEEP_BEHIND = 1 << 20
#: Files up to this size are read whole (bounded memory per worker, no per-read overhead).
WHOLE_LIMIT = 4 << 20
#: A remainder this small is drained so that the connection goes back to the pool.
DRAIN_LIMIT = 1 << 20
ID_KEYS = ("OrthancInstanceID", "OrthancSeriesID", "OrthancStudyID", "OrthancPatientID")


class _StreamFile:
    """A read/tell/seek view of an HTTP body that fetches only what the reader asks for.

    pydicom needs ``seek`` (it steps back over a tag it peeked at); the bytes read so far are kept
    in a buffer, trimmed to ``KEEP_BEHIND`` behind the read position so that large non-pixel
    values (an encapsulated PDF) are not held twice.
    """

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = bytearray()
        self._base = 0  # file offset of self._buffer[0]
        self._position = 0
        self.eof = False

    def _fill(self, end: int | None) -> None:
        while not self.eof and (end is None or self._base + len(self._buffer) < end):
            data = next(self._chunks, None)
            if data is None:
                self.eof = True
            else:
                self._buffer += data

    def _trim(self) -> None:
        excess = self._position - self._base - KEEP_BEHIND
        if excess > KEEP_BEHIND:
            del self._buffer[:excess]
            self._base += excess

    def read(self, size: int | None = -1) -> bytes:
        end = None if size is None or size < 0 else self._position + size
        self._fill(end)
        start = self._position - self._base
        stop = len(self._buffer) if end is None else end - self._base
        data = bytes(self._buffer[start:stop])
        self._position += len(data)
        self._trim()
        return data

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 2:
            self._fill(None)
            target = self._base + len(self._buffer) + offset
        else:
            target = offset if whence == 0 else self._position + offset
        if target < self._base:
            raise OSError(f"cannot seek back to {target}: bytes before {self._base} were released")
        self._fill(target)
        self._position = target
        return target

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True


def read_header(source: OrthancHook, instance_id: str) -> Dataset:
    """The instance's data set up to its pixel data, read from ``/instances/{id}/file``.

    A file up to ``WHOLE_LIMIT`` is read whole and parsed from memory (fastest: one read, the
    connection goes straight back to the pool). A larger one is parsed as it streams and only up to
    its pixel data; a small remainder is read to the end so that the keep-alive connection is
    reused (``iter_content`` marks the body consumed), a large one is dropped with its connection.
    """
    with source.instance_file(instance_id) as response:
        length = response.headers.get("Content-Length")
        size = int(length) if length and length.isdigit() else None
        if size is not None and size <= WHOLE_LIMIT:
            return dcmread(io.BytesIO(response.content), stop_before_pixels=True, force=True)
        stream = _StreamFile(response.iter_content(CHUNK))
        dataset = dcmread(stream, stop_before_pixels=True, force=True)
        if size is not None and 0 < size - stream.tell() <= DRAIN_LIMIT:
            stream.read()
    return dataset


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
    """Build every record of one instance, each fitted under ``max_bytes`` (see :mod:`.record_size`).

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
    return out


def resolve_ids(source: OrthancHook, instance_id: str, ds: Dataset) -> dict[str, str]:
    """Orthanc IDs computed from the header; asked of Orthanc when the computation disagrees."""
    ids = orthanc_ids(ContentItem(ds))
    if ids["OrthancInstanceID"] == instance_id:
        return ids
    instance = source.get_json(f"/instances/{instance_id}")
    series = source.get_json(f"/series/{instance['ParentSeries']}")
    study = source.get_json(f"/studies/{series['ParentStudy']}")
    return {
        "OrthancInstanceID": instance_id,
        "OrthancSeriesID": instance["ParentSeries"],
        "OrthancStudyID": series["ParentStudy"],
        "OrthancPatientID": study["ParentPatient"],
    }


def _header(source: OrthancHook, lean: LeanHttp | None, instance_id: str) -> Dataset:
    """:func:`read_header` through the lean GET when there is one (same endpoint, same bytes).

    Whatever the lean GET does not answer with a plain 200 -- an error status, a transport error, a
    file past ``WHOLE_LIMIT`` -- is done again the usual way, which streams large files and gives
    Orthanc's errors their usual form (:class:`OrthancError`).
    """
    body = lean.get(f"/instances/{instance_id}/file", identity=True, limit=WHOLE_LIMIT) if lean else None
    if body is None:
        return read_header(source, instance_id)
    return dcmread(io.BytesIO(body), stop_before_pixels=True, force=True)


def _metadata(source: OrthancHook, lean: LeanHttp | None, instance_id: str) -> dict[str, str]:
    """``/instances/{id}/metadata?expand``, through the lean GET when there is one."""
    text = lean.get(f"/instances/{instance_id}/metadata?expand") if lean else None
    return source.instance_metadata(instance_id) if text is None else json.loads(text)


def instances_metadata(source: OrthancHook, instance_ids: list[str]) -> dict[str, dict[str, str]]:
    """Orthanc's metadata (``ReceptionDate``, ...) of many instances in one request, by instance ID.

    Why: asked per instance, the metadata is half of the tags job's requests. ``POST /tools/bulk-content``
    (Orthanc 1.10.1 has it) answers from the same metadata store as ``/instances/{id}/metadata``, so the
    values are the same. An instance it does not list (deleted since), or any refusal other than a
    server gone or credentials refused, leaves the instance to :func:`fetch_instance_records`' own request.
    """
    if not instance_ids:
        return {}
    try:
        reply = source.post_json("/tools/bulk-content",
                                 {"Resources": list(instance_ids), "Level": "Instance", "Metadata": True})
    except OrthancError as error:
        if error.unreachable or error.status in (401, 403):
            raise
        return {}
    if not isinstance(reply, list):
        return {}
    return {item["ID"]: item["Metadata"] for item in reply
            if isinstance(item, dict) and isinstance(item.get("ID"), str) and isinstance(item.get("Metadata"), dict)}


class RecordError(Exception):
    """An instance whose records could not be built; the message is the reason, as the summary gives it.

    Why a type of its own: the reason crosses from a worker process to the run as plain text (any
    exception, pickled, might not come back whole).
    """


def read_instance_records(source: OrthancHook, instance_id: str, source_name: str,
                          metadata: dict[str, str] | None = None) -> InstanceRecords | OrthancError | RecordError:
    """:func:`fetch_instance_records`, with a failure returned rather than raised: one instance's problem.

    Orthanc's errors come back as they are, so that the caller can tell a server that is away or
    refusing the credentials (the whole run's problem) from this instance's 404 or bad file.
    """
    try:
        return fetch_instance_records(source, instance_id, source_name, metadata=metadata)
    except OrthancError as error:
        return error
    except Exception as error:
        return RecordError(f"{type(error).__name__}: {str(error).strip() or type(error).__name__}")


def fetch_instance_records(source: OrthancHook, instance_id: str, source_name: str,
                           *, max_bytes: int | None = None,
                           metadata: dict[str, str] | None = None) -> InstanceRecords:
    """Read one instance from Orthanc and build its records.

    One request (the file) when ``metadata`` comes from :func:`instances_metadata`, else two (file,
    metadata).
    """
    lean = lean_http(source)
    ds = _header(source, lean, instance_id)
    reception = (metadata if metadata is not None else _metadata(source, lean, instance_id)).get("ReceptionDate")
    return instance_records(ds, instance_id, resolve_ids(source, instance_id, ds), source_name, reception,
                            max_bytes=max_bytes)
