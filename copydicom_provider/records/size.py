"""Keep every record under a byte cap, so that Splunk neither refuses nor cuts it.

Why: Splunk cuts an event's raw text at ``TRUNCATE`` (10,000 bytes by default), which breaks the
JSON and with it every field after the cut, and HEC refuses a request over ``max_content_length``
-- an instance whose record is refused fails on every run. A record over the cap sheds what matters
least first and says what it shed, in ``OmittedForSize`` (comma-separated key names; ``Key (cut)``
for a string that was shortened). The full values stay in the DICOM file on the source (Orthanc
``/instances/{OrthancInstanceID}/tags``).

Order of shedding: per-pulse ``*_series`` lists (their mean/min/max/count stay), then the largest
other values -- strings are cut to a short prefix, lists and objects dropped -- never the keys that
identify the record (:data:`PROTECTED`).
"""

from __future__ import annotations

import json
from typing import Any

from copydicom_provider.config import MAX_RECORD_BYTES

__all__ = ["DEFAULT_MAX_RECORD_BYTES", "PROTECTED", "fit_record", "max_record_bytes", "record_bytes"]

#: Default cap: under Splunk's default TRUNCATE of 10,000 bytes, with room for re-serialisation.
DEFAULT_MAX_RECORD_BYTES = 9_500
#: Smallest cap accepted: the identifying keys and the note of what was shed must fit.
MIN_RECORD_BYTES = 2_000
ENV_VAR = "COPYDICOM_MAX_RECORD_BYTES"
#: Kept whatever the size: they identify the record and join it to its instance and study.
PROTECTED = frozenset({
    "RecordType", "RecordKey", "EventIndex", "OrthancInstanceID", "OrthancSeriesID", "OrthancStudyID",
    "OrthancPatientID", "OrthancSource", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID",
    "SOPClassUID", "IrradiationEventUID", "OmittedForSize",
})
CUT_CHARS = 200
MAX_NAMES = 40
CUT_MARK = " [cut]"


def max_record_bytes(value: int | str | None = None) -> int:
    """The cap: ``value``, else ``COPYDICOM_MAX_RECORD_BYTES``, else the default; refuses a tiny one."""
    raw = value if value is not None else MAX_RECORD_BYTES.raw() or DEFAULT_MAX_RECORD_BYTES
    try:
        cap = int(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{ENV_VAR} must be a number of bytes, not {raw!r}") from None
    if cap < MIN_RECORD_BYTES:
        raise ValueError(f"the record size cap must be at least {MIN_RECORD_BYTES} bytes, not {cap}")
    return cap


def record_bytes(record: dict[str, Any]) -> int:
    """Size of the record as HEC carries it: compact JSON, UTF-8."""
    return len(json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def _size(key: str, value: Any) -> int:
    return record_bytes({key: value})


def fit_record(record: dict[str, Any], limit: int) -> dict[str, Any]:
    """``record`` if it fits in ``limit`` bytes, else a copy shed to fit (see the module doc)."""
    if record_bytes(record) <= limit:
        return record
    out = dict(record)
    omitted: list[str] = []
    series = sorted((k for k in out if k.endswith("_series") and k not in PROTECTED),
                    key=lambda k: _size(k, out[k]), reverse=True)
    candidates = series + sorted((k for k in out if k not in PROTECTED and k not in series),
                                 key=lambda k: _size(k, out[k]), reverse=True)
    for key in candidates:
        if _fits(out, omitted, limit):
            break
        value = out[key]
        if isinstance(value, str) and len(value) > CUT_CHARS and not key.endswith("_series"):
            out[key] = value[:CUT_CHARS] + CUT_MARK
            omitted.append(f"{key} (cut)")
        else:
            del out[key]
            omitted.append(key)
    out["OmittedForSize"] = _note(omitted)
    if record_bytes(out) > limit:  # only protected keys left: their values are cut too
        for key in sorted(out, key=lambda k: _size(k, out[k]), reverse=True):
            if isinstance(out[key], str) and len(out[key]) > CUT_CHARS:
                out[key] = out[key][:CUT_CHARS] + CUT_MARK
                omitted.append(f"{key} (cut)")
                out["OmittedForSize"] = _note(omitted)
            if record_bytes(out) <= limit:
                break
    return out


def _fits(out: dict[str, Any], omitted: list[str], limit: int) -> bool:
    return record_bytes({**out, "OmittedForSize": _note(omitted)}) <= limit


def _note(omitted: list[str]) -> str:
    """The names shed, comma-separated (one string: Splunk names a list ``key{}``), at most MAX_NAMES."""
    names = omitted[:MAX_NAMES]
    if len(omitted) > MAX_NAMES:
        names.append(f"... and {len(omitted) - MAX_NAMES} more")
    return ", ".join(names)
