"""Frozen copy of the record builder as it was before the throughput work (issue 15): the reference.

Why a copy and not a JSON fixture: ReceptionDate changes with every upload, so the reference has to be
computed on the same upload. ``reference_records`` is today's ``fetch_instance_records`` path taken
the slow, obviously-right way: the whole file parsed by pydicom, every tag read through ``ds[tag]``,
the reception date from Orthanc's metadata. Dose flattening, event keys and the size cap are shared
(finished work, not part of the change). Do not "improve" this module: it is what the records are
compared against.
"""

from __future__ import annotations

import io
from typing import Any

import requests
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import Tag

from copydicom_provider.dicom.ids import orthanc_ids
from copydicom_provider.records.dose import dose_records, is_dose_report
from copydicom_provider.records.instance import _orthanc_moment, event_keys, event_time, record_key
from copydicom_provider.records.size import fit_record, max_record_bytes

BINARY_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN", "OB or OW", "US or OW", "US or SS or OW"})
_PIXEL_DATA = Tag(0x7FE0, 0x0010)
_CONTENT_SEQUENCE = Tag(0x0040, 0xA730)
ID_KEYS = ("OrthancInstanceID", "OrthancSeriesID", "OrthancStudyID", "OrthancPatientID")


def reference_instance_record(ds: Dataset, *, content_tree: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    unreadable: list[str] = []
    for tag in list(ds.keys()):
        try:
            elem = ds[tag]
            if elem.tag == _PIXEL_DATA or elem.VR in BINARY_VRS:
                continue
            if elem.tag == _CONTENT_SEQUENCE and not content_tree:
                out["ContentItemsOmitted"] = len(elem.value or [])
                continue
            key = elem.keyword or f"{elem.tag.group:04x},{elem.tag.element:04x}"
            if key in out:
                key = f"{elem.tag.group:04x},{elem.tag.element:04x}"
            if elem.VR == "SQ":
                out[key] = [reference_instance_record(item, content_tree=True) for item in elem.value]
            else:
                out[key] = _tag_text(elem.value, elem.VR)
        except Exception as exc:
            unreadable.append(f"{Tag(tag).group:04x},{Tag(tag).element:04x}: unreadable "
                              f"({type(exc).__name__}); skipped")
    if unreadable:
        out["ParseWarnings"] = " | ".join(unreadable[:20])
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


def reference_instance_records(ds: Dataset, instance_id: str, ids: dict[str, str], source_name: str,
                               reception: str | None) -> list[dict[str, Any]]:
    limit = max_record_bytes(None)
    common = {key: ids[key] for key in ID_KEYS}
    common["OrthancSource"] = source_name
    out: list[dict[str, Any]] = []
    warnings: list[str] = []
    try:
        dose = dose_records(ds)
    except Exception as exc:
        dose, warnings = [], [f"dose records not built: {type(exc).__name__}: {exc}"[:300]]
    for key, record in event_keys(dose, instance_id):
        out.append(fit_record({"RecordType": record["RecordType"], "RecordKey": key, **common, **record}, limit))
    tags = reference_instance_record(ds, content_tree=not is_dose_report(ds))
    record = {
        "RecordType": "instance",
        "RecordKey": record_key(instance_id, "instance"),
        **common,
        "ReceptionDate": _orthanc_moment(reception),
        **{k: v for k, v in tags.items() if k not in common and k not in ("RecordType", "RecordKey")},
    }
    if warnings:
        record["ParseWarnings"] = " | ".join([*warnings, *filter(None, [record.get("ParseWarnings")])])
    out.append(fit_record(record, limit))
    return out


def reference_records(url: str, auth: tuple[str, str], instance_id: str,
                      source_name: str) -> tuple[float | None, list[dict[str, Any]]]:
    """(event time, records) of one stored instance, computed the pre-change way."""
    with requests.Session() as session:
        session.auth = auth
        body = session.get(f"{url}/instances/{instance_id}/file", timeout=60).content
        metadata = session.get(f"{url}/instances/{instance_id}/metadata", params={"expand": ""}, timeout=60).json()
    ds = dcmread(io.BytesIO(body), stop_before_pixels=True, force=True)
    reception = metadata.get("ReceptionDate")
    ids = orthanc_ids(ds)
    assert ids["OrthancInstanceID"] == instance_id
    return event_time(ds, reception), reference_instance_records(ds, instance_id, ids, source_name, reception)
