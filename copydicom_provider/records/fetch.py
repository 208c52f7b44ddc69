"""One instance read from Orthanc (its file and metadata) and turned into its records by :mod:`.instance`.

Why read the file rather than Orthanc's simplified tags: Orthanc 1.10 gives ``null`` for values over
256 characters, which would silently lose long SR text. The file is read up to its pixel data
(:mod:`.stream`). Every request goes through the lean GET when the hook has one, else the hook.
"""

from __future__ import annotations

import json
from typing import Any

from pydicom.dataset import Dataset

from copydicom_provider.dicom.ids import orthanc_ids
from copydicom_provider.dicom.sr_items import ContentItem
from copydicom_provider.errors import ServerUnreachable
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.hooks.orthanc_pool import LeanHttp, lean_http
from copydicom_provider.records.completeness import mark_incomplete, short_file
from copydicom_provider.records.instance import InstanceRecords, instance_records
from copydicom_provider.records.stream import WHOLE_LIMIT, parse_header, read_header_sized

__all__ = ["STORED_SIZE", "RecordError", "fetch_instance_records", "instances_metadata", "read_instance_records",
           "resolve_ids"]

#: Added by :func:`instances_metadata` beside an instance's metadata: the size Orthanc stored (the batch
#: reply's ``FileSize``, the uncompressed size even when Orthanc compresses its storage, so the size it serves).
STORED_SIZE = "FileSize"


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


def _header(source: OrthancHook, lean: LeanHttp | None, instance_id: str) -> tuple[Dataset, int | None]:
    """:func:`read_header_sized` through the lean GET when there is one (same endpoint, same bytes).

    Whatever the lean GET does not answer with a plain 200 -- an error status, a transport error, a
    file past ``WHOLE_LIMIT`` -- is done again the usual way, which streams large files and gives
    Orthanc's errors their usual form (:class:`OrthancError`).
    """
    body = lean.get(f"/instances/{instance_id}/file", identity=True, limit=WHOLE_LIMIT) if lean else None
    if body is None:
        return read_header_sized(source, instance_id)
    return parse_header(body), len(body)


def _stored_size(source: OrthancHook, lean: LeanHttp | None, instance_id: str,
                 metadata: dict[str, str] | None) -> int | None:
    """The size of the file as Orthanc stored it (its index's record), None when it does not say.

    Taken from the batch reply (:data:`STORED_SIZE`) when there is one, else asked of Orthanc.
    """
    known = (metadata or {}).get(STORED_SIZE, "")
    if known.isdigit():
        return int(known)
    endpoint = f"/instances/{instance_id}/attachments/dicom/size"
    try:
        body = lean.get(endpoint) if lean else None
        text = body.decode() if body is not None else source.request("GET", endpoint).text
        return int(text.strip().strip('"'))
    except (OrthancError, ValueError, UnicodeDecodeError):
        return None


def _metadata(source: OrthancHook, lean: LeanHttp | None, instance_id: str) -> dict[str, str]:
    """``/instances/{id}/metadata?expand``, through the lean GET when there is one."""
    text = lean.get(f"/instances/{instance_id}/metadata?expand") if lean else None
    return source.instance_metadata(instance_id) if text is None else json.loads(text)


def instances_metadata(source: OrthancHook, instance_ids: list[str]) -> dict[str, dict[str, str]]:
    """Orthanc's metadata (``ReceptionDate``, ...) of many instances in one request, by instance ID.

    Each also carries the size Orthanc stored under :data:`STORED_SIZE` (the reply has it), so that
    checking a dose report's file is whole costs no request of its own.

    Why: asked per instance, the metadata is half of the tags job's requests. ``POST /tools/bulk-content``
    (Orthanc 1.10.1 has it) answers from the same metadata store as ``/instances/{id}/metadata``, so the
    values are the same. An instance it does not list (deleted since), or any refusal other than a
    server gone or credentials refused, leaves the instance to :func:`fetch_instance_records`' own request.
    """
    if not instance_ids:
        return {}
    try:
        reply = source.bulk_instances(list(instance_ids))
    except OrthancError as error:
        if isinstance(error, ServerUnreachable) or error.status in (401, 403):
            raise
        return {}
    return {item["ID"]: {**item["Metadata"], **_size_of(item)}
            for item in reply if isinstance(item.get("Metadata"), dict)}


def _size_of(item: dict[str, Any]) -> dict[str, str]:
    size = item.get("FileSize")
    return {STORED_SIZE: str(size)} if isinstance(size, int) and not isinstance(size, bool) else {}


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
    metadata), and for a dose report one more (the size Orthanc stored, see :mod:`.completeness`).
    """
    lean = lean_http(source)
    ds, size = _header(source, lean, instance_id)
    reception = (metadata if metadata is not None else _metadata(source, lean, instance_id)).get("ReceptionDate")
    out = instance_records(ds, instance_id, resolve_ids(source, instance_id, ds), source_name, reception,
                           max_bytes=max_bytes)
    if out.dose_reports:  # a dose report is worth one more request: is the file Orthanc serves whole?
        short = short_file(size, _stored_size(source, lean, instance_id, metadata))
        if short:
            mark_incomplete(out, short, cut=True, max_bytes=max_bytes)
    return out
